/**
 * @module E-mail addresses as every part of Gatehouse reads them: the admin API's 3PIDs, invites bound to an
 * address, the bulk import (server, CLI and console) and the console's forms.
 *
 * Imported by the server, the CLI and the web pages alike, so it uses nothing of Node's and nothing of the server's.
 */

/** One `@`, a local part and a domain of dot-separated labels, nothing blank and no spaces. */
const ADDRESS = /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)*$/;

/**
 * The address canonicalised as Synapse's `canonicalise_email` does (spaces around it trimmed, lower-cased), or null
 * when it is not one. Deliberately loose beyond that: Gatehouse sends no mail, so an address is only stored and
 * compared, and the canonical form is what makes two spellings of one address meet.
 */
export function canonicalEmail(address: string): string | null {
  const trimmed = address.trim();
  return ADDRESS.test(trimmed) ? trimmed.toLowerCase() : null;
}
