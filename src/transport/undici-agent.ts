// undici's Agent, loaded from its own file. undici's index loads all of undici (fetch,
// WebSocket, caches, mock agents, and the request API it adds to every dispatcher):
// ~62 ms at every worker start, against ~21 ms for the Agent's file (it pulls in Pool
// and Client), and each Spark task starts a worker. The transport needs only the
// Agent's dispatch(). Types still come from the package's index.
import type * as Undici from 'undici';
import AgentClass from 'undici/lib/dispatcher/agent.js';
import buildConnectorFn from 'undici/lib/core/connect.js';

export const Agent = AgentClass;
export type Agent = Undici.Agent;
/** undici's own connector (TCP or TLS, connect timeout), which the Agent builds when given options. */
export const buildConnector = buildConnectorFn;
