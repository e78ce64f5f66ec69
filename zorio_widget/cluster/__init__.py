"""Many server processes, one phone system: the cluster over Redis (docs/CLUSTER.md).

Processes started with the same `DATABASE_URL` and `REDIS_URL` share presence, ringing, busy
state, call limits and capacity; a call's media lives on one process (its owner) and the parties'
sockets on any: their signalling reaches the owner through the channel layer by channel name.

- `runtime`: builds the process's switchboard and, with the Redis channel layer, its `Cluster`;
  `get_router()` for the consumers.
- `router`: a device's requests, to this switchboard or to the call's owner (the device's side).
- `hosting`: requests and calls other processes send for calls owned here (the owner's side).
- `remote`: `DeviceCard` and `RemoteDevice`, the endpoint of a party whose socket is elsewhere.
- `node`: this process's heartbeat, its view of the others, its inbox; `reaper`: what a dead one left.
- `directory` (`calls.directory.Directory` on Redis), `presence`, `placement`, `keys`.
- `drain`: SIGTERM's no-new-calls, then the end of the live ones.

This floor sits between the call layer it builds on and the edges (the signalling consumer) that
use it; without Redis every piece is a pass-through and the process works alone as before.
"""
