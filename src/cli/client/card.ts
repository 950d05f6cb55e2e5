import { AgentCard } from '@a2a-js/sdk';
import { fetchCard } from './connection.js';
import type { CommandContext } from './context.js';
import { EXIT } from './exit-codes.js';

/** The card extension where the gateway publishes each skill's input schema and backend. */
const SKILL_INPUT_EXTENSION = 'skill-input/v1';

interface SkillExtras {
  backend?: string;
  inputSchema?: { properties?: Record<string, unknown>; required?: string[] };
}

function skillExtras(card: AgentCard): Record<string, SkillExtras> {
  const ext = card.capabilities?.extensions?.find((e) => e.uri.endsWith(SKILL_INPUT_EXTENSION));
  const skills = (ext?.params as { skills?: unknown } | undefined)?.skills;
  return skills && typeof skills === 'object' ? (skills as Record<string, SkillExtras>) : {};
}

/** `card [URL]`: the agent card, of the gateway or of any A2A server. */
export async function cardCommand(ctx: CommandContext, url: string | undefined): Promise<number> {
  const { card } = await fetchCard({ ...ctx.target, ...(url ? { url } : {}) });
  const { out } = ctx;
  if (out.json) {
    out.data(AgentCard.toJSON(card));
    return EXIT.ok;
  }
  const c = out.c;
  out.line(`${c.bold(card.name)} ${card.version}`);
  if (card.description) out.line(card.description);
  out.line();
  for (const i of card.supportedInterfaces ?? [])
    out.line(`  ${i.protocolBinding.padEnd(9)} ${i.protocolVersion.padEnd(4)} ${i.url}`);
  const caps = card.capabilities;
  const flags = [
    caps?.streaming && 'streaming',
    caps?.pushNotifications && 'push notifications',
    caps?.extendedAgentCard && 'extended card',
  ].filter(Boolean);
  if (flags.length > 0) out.line(`  capabilities: ${flags.join(', ')}`);
  const schemes = Object.keys(card.securitySchemes ?? {});
  out.line(`  auth: ${schemes.length > 0 ? schemes.join(', ') : 'none'}`);
  out.line(`  skills: ${card.skills.map((s) => s.id).join(', ')}`);
  return EXIT.ok;
}

/** `skills`: each skill with its backend and input fields (required ones marked). */
export async function skillsCommand(ctx: CommandContext, flags: { ids?: boolean }): Promise<number> {
  const { card } = await fetchCard(ctx.target);
  const extras = skillExtras(card);
  const { out } = ctx;
  if (flags.ids) {
    for (const s of card.skills) out.stdout.write(`${s.id}\n`);
    return EXIT.ok;
  }
  if (out.json) {
    out.data(
      card.skills.map((s) => ({
        id: s.id,
        name: s.name,
        description: s.description,
        tags: s.tags,
        examples: s.examples,
        ...(extras[s.id]?.backend ? { backend: extras[s.id]?.backend } : {}),
        ...(extras[s.id]?.inputSchema ? { inputSchema: extras[s.id]?.inputSchema } : {}),
      })),
    );
    return EXIT.ok;
  }
  const c = out.c;
  for (const s of card.skills) {
    const x = extras[s.id];
    out.line(`${c.bold(s.id)}${x?.backend ? c.dim(` (${x.backend})`) : ''}  ${s.name}`);
    const props = Object.keys(x?.inputSchema?.properties ?? {});
    const required = new Set(x?.inputSchema?.required ?? []);
    if (props.length > 0)
      out.line(`  input: ${props.map((p) => (required.has(p) ? c.bold(p) : p)).join(', ')}`);
  }
  return EXIT.ok;
}
