/** A kubeconfig whose API calls each wait a bounded time for their answer. */
import { KubeConfig } from '@kubernetes/client-node';
import { noAnswerText, requestTimeoutMs } from '../request-timeout';

type RequestContext = Parameters<KubeConfig['applySecurityAuthentication']>[0];

/**
 * A KubeConfig whose API clients (`makeApiClient`) abort a request that has no answer within
 * ROTOR_REQUEST_TIMEOUT_MS (request-timeout.ts), with an error saying so: client-node sets no bound
 * of its own, and undici's 300 s would outlast any stage. Every API call passes through
 * `applySecurityAuthentication` just before it is sent. Watches and log streams pass through it too
 * but bring their own signal, so they are not cut.
 */
export class BoundedKubeConfig extends KubeConfig {
  /** Read when the kubeconfig is made, so a bad setting fails then, not on the first call. */
  readonly timeoutMs = requestTimeoutMs();

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    const ms = this.timeoutMs;
    const controller = new AbortController();
    // fetch rejects with the abort's reason: the step's failure then says what happened. Made only
    // when the bound passes, not for every call.
    setTimeout(() => {
      const server = this.getCurrentCluster()?.server ?? 'the current context';
      controller.abort(
        Object.assign(new Error(noAnswerText(`the apiserver at ${server}`, ms)), { name: 'TimeoutError' }),
      );
    }, ms).unref();
    context.setSignal(controller.signal);
  }
}
