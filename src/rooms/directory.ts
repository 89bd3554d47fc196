// PLACEHOLDER: the Directory Durable Object (being written).
import { DurableObject } from "cloudflare:workers";
export class Directory extends DurableObject<Env> {}
