// The Worker's bindings, declared once (wrangler.toml is the source of the binding names).

export interface Env {
  /** R2 bucket holding the weight shards (`weights/` uploaded as is). */
  WEIGHTS: R2Bucket;
  /** Model id served by default. */
  MODEL_ID: string;
  /** When set, every API route needs `Authorization: Bearer <API_KEY>`. */
  API_KEY?: string;
}
