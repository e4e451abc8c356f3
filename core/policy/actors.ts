/**
 * Whether two actor names are one person: `alice@laptop` and `alice@ci-runner` are (the part
 * before `@` is the user; hosts differ per machine), compared case-insensitively.
 */
export function sameActor(a: string, b: string): boolean {
  const user = (x: string) => (x.includes('@') ? x.slice(0, x.lastIndexOf('@')) : x).trim().toLowerCase();
  return user(a) === user(b);
}
