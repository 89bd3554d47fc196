// PLACEHOLDER: the Room Durable Object (being written).
import { DurableObject } from "cloudflare:workers";
export class Room extends DurableObject<Env> {}
