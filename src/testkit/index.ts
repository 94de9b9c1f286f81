// Test servers for restlake's own tests and for users' rehearsals (`import … from 'restlake/testkit'`):
// the mock API (one route family per auth pattern), the OAuth2 server, and the fault-injecting server.
export { startMockApi, mockScore, MOCK_DEFAULTS } from './mock-api.js';
export type { MockApi, MockApiOptions, MockApiStats, MockAuthPattern, MockEcho } from './mock-api.js';
export { startFaultServer, FAULT_KINDS, PERMANENT_FAULTS, RATE_LIMITED, defaultIdOf, scoreOf } from './fault-server.js';
export type { FaultKind, FaultRecord, FaultServer, FaultServerOptions, FaultServerStats } from './fault-server.js';
export { faultServerCommand, runFaultServerCommand, testkitCommand } from './fault-server-command.js';
export { startOAuthServer } from './oauth-server.js';
export type { OAuthServer, OAuthServerOptions, OAuthServerStats, OAuthClientSpec, OAuthGrant, OAuthOutage } from './oauth-server.js';
