// `npm run demo`: one whole live_room session against a running service, through the typed client
// (src/client), printing each step with its code. Start the service first:
//
//   npm run dev                # the fake cloud live API + wrangler dev on 127.0.0.1:8787
//   npm run demo               # in another terminal
//   RS_BASE=http://127.0.0.1:8790 RS_PREFIX=/weapp npm run demo
//
// Exits 1 as soon as a step does not answer the code it should (most steps: 0), 2 if the service
// cannot be reached. merge_stream goes to whatever LIVE_API_URL the service has: under `npm run dev`
// that is the local fake; against the real cloud API without credentials it answers code 6.
//
// Node 22.18+ runs this file by stripping its types: erasable syntax only.

export {}; // a module: top-level await

type ClientModule = typeof import("../src/client/index");
type Client = InstanceType<ClientModule["RoomServiceClient"]>;

const here = (import.meta as unknown as { url: string }).url;
// With its .ts extension for Node; the type above is what tsc checks it against.
const clientModule = (await import(new URL("../src/client/index.ts", here).href)) as ClientModule;
const { RoomServiceClient, TransportError } = clientModule;

const env = process.env as Record<string, string | undefined>;
const baseUrl = env.RS_BASE || clientModule.DEFAULT_BASE_URL;
const prefix = env.RS_PREFIX ?? "";
const waitSeconds = Number(env.RS_WAIT_SECONDS ?? "15");

const suffix = crypto.randomUUID().replaceAll("-", "").slice(0, 8);
const users = { host: `demo_host_${suffix}`, guest: `demo_guest_${suffix}`, viewer: `demo_viewer_${suffix}` };
const roomID = `demo_room_${suffix}`;

const make = () => new RoomServiceClient({ baseUrl, prefix });
const host = make();
const guest = make();
const viewer = make();

let step = 0;

interface Answer {
  code: number;
  message: string;
}

/** Runs one step, prints it, and stops the demo if the code is not the expected one. */
async function run<T extends Answer>(
  who: string,
  action: string,
  call: () => Promise<T>,
  summary: (answer: Extract<T, { code: 0 }>) => string,
  expected = 0,
): Promise<T> {
  step += 1;
  const started = Date.now();
  const answer = await call();
  const ms = Date.now() - started;
  const good = answer.code === expected;
  const text = answer.code === 0 ? summary(answer as Extract<T, { code: 0 }>) : answer.message;
  const mark = good ? "ok " : "FAIL";
  console.log(
    `${String(step).padStart(2)}  ${mark} ${who.padEnd(6)} ${action.padEnd(26)} code ${String(answer.code).padEnd(4)} ${String(ms).padStart(4)} ms  ${text}`,
  );
  if (!good) {
    console.error(`\ndemo: ${action} answered code ${answer.code}, expected ${expected}: ${answer.message}`);
    if (action.endsWith("merge_stream") && answer.code === 6) {
      console.error(
        "demo: the cloud live API call failed: start the service with `npm run dev` (it runs a local fake)",
      );
    }
    process.exit(1);
  }
  return answer;
}

const short = (s: string, n = 60) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
// Never print a whole signed URL or token: they are credentials.
const redactUrl = (url: string, n = 60) => short(url.replace(/([?&](txSecret|txTime)=)[^&]+/g, "$1…"), n);

async function waitForService(): Promise<void> {
  const until = Date.now() + waitSeconds * 1000;
  for (;;) {
    try {
      await make().utils.get_test_rtmpaccurl();
      return;
    } catch (err) {
      if (!(err instanceof TransportError) || Date.now() > until) {
        console.error(`demo: no answer from ${baseUrl}${prefix} (${err instanceof Error ? err.message : String(err)})`);
        console.error("demo: start the service with `npm run dev`, or point RS_BASE at it");
        process.exit(2);
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  }
}

async function login(name: keyof typeof users, client: Client): Promise<void> {
  const info = await run(
    name,
    "utils/get_login_info",
    () => client.utils.get_login_info({ userID: users[name] }),
    (a) => `userID=${a.userID} sdkAppID=${a.sdkAppID} userSig=${a.userSig.length} chars`,
  );
  if (info.code !== 0) return;
  await run(
    name,
    "live_room/login",
    () =>
      client.live_room.login({
        sdkAppID: info.sdkAppID,
        accountType: info.accType,
        userID: info.userID,
        userSig: info.userSig,
      }),
    (a) => `token for ${a.userID} (${a.token.length} chars, held by the client)`,
  );
}

async function pushUrl(name: string, client: Client): Promise<string> {
  const answer = await run(
    name,
    "live_room/get_push_url",
    () => client.live_room.get_push_url(),
    (a) => redactUrl(a.pushURL),
  );
  return answer.code === 0 ? answer.pushURL : "";
}

console.log(`RoomService demo against ${baseUrl}${prefix}: one live_room session (room ${roomID})\n`);
await waitForService();

await login("host", host);
await login("guest", guest);
await login("viewer", viewer);

await run(
  "host",
  "live_room/create_room",
  () => host.live_room.create_room({ roomID, roomInfo: "Demo show" }),
  (a) => `room ${a.roomID} created; host is its creator`,
);
const hostUrl = await pushUrl("host", host);
const guestUrl = await pushUrl("guest", guest);
await run(
  "host",
  "live_room/add_pusher",
  () =>
    host.live_room.add_pusher({
      roomID,
      userName: "Host",
      userAvatar: "https://example.test/host.png",
      pushURL: hostUrl,
    }),
  () => "host is pushing",
);
await run(
  "guest",
  "live_room/add_pusher",
  () =>
    guest.live_room.add_pusher({
      roomID,
      userName: "Guest",
      userAvatar: "https://example.test/guest.png",
      pushURL: guestUrl,
    }),
  () => "guest joined as co-anchor",
);
await run(
  "host",
  "live_room/pusher_heartbeat",
  () => host.live_room.pusher_heartbeat({ roomID }),
  () => "deadline refreshed",
);
await run(
  "guest",
  "live_room/pusher_heartbeat",
  () => guest.live_room.pusher_heartbeat({ roomID }),
  () => "deadline refreshed",
);
await run(
  "viewer",
  "live_room/get_room_list",
  () => viewer.live_room.get_room_list({ cnt: 20, index: 0 }),
  (a) => `${a.rooms.length} room(s) listed${a.rooms.some((r) => r.roomID === roomID) ? ", ours among them" : ""}`,
);
await run(
  "viewer",
  "live_room/get_pushers",
  () => viewer.live_room.get_pushers({ roomID }),
  (a) =>
    `creator ${a.roomCreator}; pushers ${a.pushers.map((p) => p.userID).join(", ")}; mixed ${redactUrl(a.mixedPlayURL, 40)}`,
);
await run(
  "viewer",
  "live_room/add_audience",
  () => viewer.live_room.add_audience({ roomID, userInfo: JSON.stringify({ nick: "Viewer" }) }),
  () => "viewer is in the audience",
);
await run(
  "host",
  "live_room/get_audiences",
  () => host.live_room.get_audiences({ roomID }),
  (a) => `${a.audiences.length} audience member(s): ${a.audiences.map((x) => x.userID).join(", ")}`,
);
await run(
  "viewer",
  "live_room/set_custom_field",
  () => viewer.live_room.set_custom_field({ roomID, fieldName: "likes", operation: "inc" }),
  (a) => `customInfo ${a.customInfo}`,
);
await run(
  "guest",
  "live_room/set_custom_field",
  () => guest.live_room.set_custom_field({ roomID, fieldName: "likes", operation: "inc", value: 2 }),
  (a) => `customInfo ${a.customInfo}`,
);
await run(
  "host",
  "live_room/get_custom_info",
  () => host.live_room.get_custom_info({ roomID }),
  (a) => `customInfo ${a.customInfo}`,
);
const mergeParams = {
  timestamp: Math.floor(Date.now() / 1000),
  eventId: Math.floor(Date.now() / 1000),
  interface: {
    interfaceName: "Mix_StreamV2",
    para: {
      app_id: "",
      interface: "mix_streamv2.start_mix_stream_advanced",
      mix_stream_session_id: users.host,
      output_stream_id: users.host,
      input_stream_list: [
        { input_stream_id: users.host, layout_params: { image_layer: 1 } },
        {
          input_stream_id: users.guest,
          layout_params: { image_layer: 2, image_width: 160, image_height: 240, location_x: 440, location_y: 600 },
        },
      ],
    },
  },
};
await run(
  "guest",
  "live_room/merge_stream",
  () => guest.live_room.merge_stream({ roomID, mergeParams }),
  () => "",
  3, // only the room's creator may mix: code 3, as expected
);
await run(
  "host",
  "live_room/merge_stream",
  () => host.live_room.merge_stream({ roomID, mergeParams }),
  (a) => `cloud API answered code ${a.result.code} "${short(a.result.message, 40)}"`,
);
await run(
  "viewer",
  "live_room/delete_audience",
  () => viewer.live_room.delete_audience({ roomID }),
  () => "viewer left",
);
await run(
  "guest",
  "live_room/delete_pusher",
  () => guest.live_room.delete_pusher({ roomID }),
  () => "guest stopped pushing",
);
await run(
  "host",
  "live_room/delete_pusher",
  () => host.live_room.delete_pusher({ roomID }),
  () => "host stopped pushing: the creator leaving ends a live room",
);
await run(
  "viewer",
  "live_room/get_pushers",
  () => viewer.live_room.get_pushers({ roomID }),
  () => "",
  1,
); // room gone: code 1
for (const [name, client] of [
  ["host", host],
  ["guest", guest],
  ["viewer", viewer],
] as const) {
  await run(
    name,
    "live_room/logout",
    () => client.live_room.logout(),
    () => "session revoked",
  );
}

console.log(`\ndemo: all ${step} steps answered as expected`);
