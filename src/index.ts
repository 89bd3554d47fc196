import { DurableObject } from "cloudflare:workers";
export { Room } from "./rooms/room";
export { Directory } from "./rooms/directory";
export default { async fetch() { return Response.json({ code: 0 }); } } satisfies ExportedHandler;
