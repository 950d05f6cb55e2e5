import type { AgentCard, AgentSkill } from '@a2a-js/sdk';
import { duplicateInterfacesForLegacy } from '@a2a-js/sdk/compat/v0_3';
import type { SkillDefinition } from '../skills/types.js';
import { SKILL_INPUT_MODES, skillInputJsonSchema } from '../skills/input.js';
import { VERSION } from '../version.js';

/** The card extension that carries each skill's input JSON Schema and backend (AgentSkill has no field for it). */
export const SKILL_SCHEMA_EXTENSION_URI =
  'https://github.com/a2a-gateway/a2a-gateway/extensions/skill-input/v1';

export interface CardOptions {
  baseUrl: string;
  skills: readonly SkillDefinition[];
  backendFor: (skill: SkillDefinition) => string;
  /** What each backend named by a skill is, and how it continues a conversation (`replay`: earlier turns are
   *  replayed in the prompt because the CLI cannot resume its own session offline). */
  backendInfo?: (name: string) => { type: string; resume?: 'native' | 'replay' } | undefined;
  streaming: boolean;
  pushNotifications: boolean;
  /** The gRPC binding's `host:port`, when it is on. */
  grpcAddress?: string;
  /** Keys are required: the card declares the schemes and offers the authenticated extended card. */
  authRequired: boolean;
}

/** How callers authenticate: the brief's `X-API-Key` header, or the same key (or a JWT) as a bearer token. */
function securityOf(required: boolean): Pick<AgentCard, 'securitySchemes' | 'securityRequirements'> {
  if (!required) return { securitySchemes: {}, securityRequirements: [] };
  return {
    securitySchemes: {
      apiKey: {
        scheme: {
          $case: 'apiKeySecurityScheme',
          value: { description: 'API key in the X-API-Key header', location: 'header', name: 'X-API-Key' },
        },
      },
      bearer: {
        scheme: {
          $case: 'httpAuthSecurityScheme',
          value: { description: 'API key or JWT as a bearer token', scheme: 'Bearer', bearerFormat: '' },
        },
      },
    },
    securityRequirements: [{ schemes: { apiKey: { list: [] } } }, { schemes: { bearer: { list: [] } } }],
  };
}

function toAgentSkill(skill: SkillDefinition, backend: string): AgentSkill {
  return {
    id: skill.id,
    name: skill.name,
    description: `${skill.description} Input: a JSON object (in a data part or as JSON text) or plain text for "${skill.mainField}". Runs on backend "${backend}".`,
    tags: [...skill.tags],
    examples: [...skill.examples],
    inputModes: [...SKILL_INPUT_MODES],
    outputModes: [...skill.outputModes],
    securityRequirements: [],
  };
}

/**
 * The agent card (A2A 1.0 layout) built from the skill catalog. JSON-RPC is served at the base URL and the
 * HTTP+JSON binding under it; both are listed at 1.0 and again at 0.3 for older clients.
 */
export function buildAgentCard(opts: CardOptions): AgentCard {
  const url = opts.baseUrl;
  const interfaces = duplicateInterfacesForLegacy(
    [
      { url, protocolBinding: 'JSONRPC', protocolVersion: '1.0', tenant: '' },
      { url, protocolBinding: 'HTTP+JSON', protocolVersion: '1.0', tenant: '' },
    ],
    ['JSONRPC', 'HTTP+JSON'],
  );
  // gRPC is served at 1.0 only (the 0.3 gRPC service is another proto): not duplicated for 0.3 clients.
  if (opts.grpcAddress) {
    interfaces.push({ url: opts.grpcAddress, protocolBinding: 'GRPC', protocolVersion: '1.0', tenant: '' });
  }
  return {
    name: 'a2a-gateway',
    description:
      'Hands coding work to the coding-agent CLIs on this machine (Claude Code, Factory droid and others): fix bugs, refactor, review, write tests and generate deployment files in a workspace, and return a summary, changes and usage.',
    supportedInterfaces: interfaces,
    provider: { organization: 'a2a-gateway', url: 'https://github.com/a2a-gateway/a2a-gateway' },
    version: VERSION,
    capabilities: {
      streaming: opts.streaming,
      pushNotifications: opts.pushNotifications,
      extendedAgentCard: opts.authRequired,
      extensions: [
        {
          uri: SKILL_SCHEMA_EXTENSION_URI,
          description:
            'JSON Schema of each skill input, the backend that runs it, and how each backend continues a conversation.',
          required: false,
          params: {
            backends: Object.fromEntries(
              [...new Set(opts.skills.map((s) => opts.backendFor(s)))].map((name) => [
                name,
                opts.backendInfo?.(name) ?? {},
              ]),
            ),
            skills: Object.fromEntries(
              opts.skills.map((s) => [
                s.id,
                { backend: opts.backendFor(s), inputSchema: skillInputJsonSchema(s) },
              ]),
            ),
          },
        },
      ],
    },
    ...securityOf(opts.authRequired),
    defaultInputModes: [...SKILL_INPUT_MODES],
    defaultOutputModes: ['text/plain', 'application/json'],
    skills: opts.skills.map((s) => toAgentSkill(s, opts.backendFor(s))),
    signatures: [],
  };
}
