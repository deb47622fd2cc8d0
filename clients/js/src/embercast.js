// Embercast's Phoenix Channels client: the public API of phoenix.js 1.8, as
// plain ES modules. `import {Socket} from "embercast"` where an app had
// `import {Socket} from "phoenix"`.
//
//   socket.js    connection, reconnect, heartbeat, routing to channels
//   fallback.js  the longPollFallbackMs switch to LongPoll
//   channel.js   join/leave/push/on/off, rejoin
//   push.js      one message and its reply hooks
//   presence.js  presence_state / presence_diff sync
//   serializer.js V2 (default, binary frames) and V1 serializers
//   longpoll.js  the LongPoll transport (fetch)
//   timer.js     backoff with jitter
//   page.js      browser page lifecycle (hidden pages, back/forward cache)

export { Socket } from "./socket.js";
export { Channel } from "./channel.js";
export { Push } from "./push.js";
export { Presence } from "./presence.js";
export { LongPoll } from "./longpoll.js";
export { Serializer, SerializerV1 } from "./serializer.js";
export { Timer, backoff } from "./timer.js";
