/** Any Onramp record: always has an id, other fields as in API-CONTRACT.md. */
export interface Item {
  id: string;
  [key: string]: unknown;
}
