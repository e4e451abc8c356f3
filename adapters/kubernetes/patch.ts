import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';

/** Request options for the patch flavours rotor uses. */
export const serverSideApply = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);
export const jsonPatch = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);
export const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
