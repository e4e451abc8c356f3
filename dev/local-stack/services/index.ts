import type { StackService } from '../service';
import { temporal } from './temporal';
import { codec } from './codec';
import { vault } from './vault';
import { moto } from './moto';
import { postgres } from './postgres';
import { redis } from './redis';
import { mariadb } from './mariadb';
import { kube } from './kube';
import { eso } from './eso';
import { node } from './node';
import { otelcol } from './otelcol';
import { temporalTls } from './temporal-tls';
import { temporalPostgres } from './temporal-postgres';
import { workers } from './workers';

/** Every service of the local stack, in start order; `optional` ones only when enabled. */
export const services: StackService[] = [
  temporal,
  codec,
  vault,
  moto,
  postgres,
  redis,
  mariadb,
  kube,
  node,
  eso,
  otelcol,
  temporalTls,
  temporalPostgres,
  workers,
];
