// Worker entry: the edge router, and the Durable Object classes it talks to.
import { createApp } from "./app";

export { Directory } from "./rooms/directory";
export { Room } from "./rooms/room";

export default createApp() satisfies ExportedHandler<Env>;
