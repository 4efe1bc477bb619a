/** The guided editor: every writable job field, grouped as a user thinks of a job. */
import type { JSX } from 'preact';
import { useRef } from 'preact/hooks';
import { Check, Field } from './editor-field.js';
import { ExecutorFields } from './editor-fields.js';
import { KeyValues, fromPairs, toPairs } from './editor-kv.js';
import { NOTIFY_ON, processorMap, str, strMap, type Draft } from './editor-model.js';
import { DependsOnField, namesOf, ParentField } from './editor-parent.js';
import { ProcessorsFields } from './editor-processors.js';
import { ResourcesFields } from './editor-resources.js';
import { ScheduleFields } from './editor-schedule.js';

interface Props {
  draft: Draft;
  update: (patch: Draft) => void;
  executors: string[];
  processors: string[];
  editing: string | null;
}

/** A number field keeps what was typed if it is not a whole number: the server names the field. */
const num = (v: string): number | string => (/^-?\d+$/.test(v.trim()) ? Number(v) : v);

export function EditorForm({ draft, update, executors, processors, editing }: Props): JSX.Element {
  const executor = str(draft.executor);
  // Each executor's config is kept while switching between them, so a misclick loses nothing.
  const configs = useRef<Record<string, Record<string, string>>>({});
  const switchExecutor = (next: string): void => {
    configs.current[executor] = strMap(draft.executor_config);
    update({ executor: next, executor_config: configs.current[next] ?? {} });
  };
  const name = str(draft.name);
  const parent = str(draft.parent_job);
  const dependsOn = namesOf(draft.depends_on);
  const notifySkip = draft.notify_skip === true ? 'true' : draft.notify_skip === false ? 'false' : '';
  const execChoices = executor && !executors.includes(executor) ? [...executors, executor] : executors;
  return (
    <div class="editor-form">
      <fieldset class="card">
        <legend>Job</legend>
        <div class="row2">
          <Field field="name" label="Name" hint={editing ? 'Renaming saves a new job and keeps the old one.' : 'Letters, digits, "-", "_" and ".".'}>
            {(c) => <input {...c} value={name} required autoComplete="off" spellcheck={false} onInput={(ev) => update({ name: ev.currentTarget.value })} />}
          </Field>
          <Field field="displayname" label="Display name">
            {(c) => <input {...c} value={str(draft.displayname)} onInput={(ev) => update({ displayname: ev.currentTarget.value })} />}
          </Field>
        </div>
        <Check field="disabled" label="Disabled" hint="A disabled job does not run on its schedule; a manual run still works." checked={draft.disabled === true} set={(on) => update({ disabled: on })} />
      </fieldset>

      <fieldset class="card">
        <legend>When</legend>
        <ScheduleFields name={name} schedule={str(draft.schedule)} timezone={str(draft.timezone)} parent={parent} dependsOn={dependsOn} set={(p) => update(p)} />
        <div class="row2">
          <ParentField value={parent} self={name} set={(v) => update({ parent_job: v })} />
          <DependsOnField value={dependsOn} self={name} parent={parent} set={(v) => update({ depends_on: v })} />
        </div>
      </fieldset>

      <fieldset class="card">
        <legend>What</legend>
        <Field field="executor" label="Executor">
          {(c) => (
            <select {...c} value={executor} onChange={(ev) => switchExecutor(ev.currentTarget.value)}>
              {execChoices.map((e) => (
                <option key={e} value={e}>
                  {e}
                </option>
              ))}
            </select>
          )}
        </Field>
        <ExecutorFields key={executor} executor={executor} config={strMap(draft.executor_config)} setConfig={(c) => update({ executor_config: c })} />
      </fieldset>

      <fieldset class="card">
        <legend>Where and how</legend>
        <KeyValues
          noun="tag"
          legend="Tags"
          field="tags"
          pairs={toPairs(strMap(draft.tags))}
          onChange={(p) => update({ tags: fromPairs(p) })}
          hint='Runs on agents carrying these tags; "role=web:2" runs on 2 of them.'
        />
        <ResourcesFields value={draft.resources} set={(r) => update({ resources: r })} />
        <div class="row3">
          <Field field="retries" label="Retries" hint="Extra attempts after a failure.">
            {(c) => <input {...c} type="number" min={0} step={1} inputMode="numeric" value={str(draft.retries ?? 0)} onInput={(ev) => update({ retries: num(ev.currentTarget.value) })} />}
          </Field>
          <Field field="concurrency" label="Concurrency" hint="Forbid: skip a tick while a run is still going.">
            {(c) => (
              <select {...c} value={str(draft.concurrency) || 'allow'} onChange={(ev) => update({ concurrency: ev.currentTarget.value })}>
                <option value="allow">Allow overlapping runs</option>
                <option value="forbid">Forbid overlapping runs</option>
              </select>
            )}
          </Field>
        </div>
      </fieldset>

      <fieldset class="card">
        <legend>Notifications</legend>
        <div class="row2">
          <Field field="notify_on" label="Notify">
            {(c) => (
              <select {...c} value={str(draft.notify_on)} onChange={(ev) => update({ notify_on: ev.currentTarget.value })}>
                {NOTIFY_ON.map(([v, l]) => (
                  <option key={v} value={v}>
                    {l}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field field="notify_skip" label="Skipped ticks">
            {(c) => (
              <select {...c} value={notifySkip} onChange={(ev) => update({ notify_skip: ev.currentTarget.value === '' ? null : ev.currentTarget.value === 'true' })}>
                <option value="">The agent's default</option>
                <option value="true">Notify</option>
                <option value="false">Don't notify</option>
              </select>
            )}
          </Field>
          <Field field="owner" label="Owner">
            {(c) => <input {...c} value={str(draft.owner)} autoComplete="off" onInput={(ev) => update({ owner: ev.currentTarget.value })} />}
          </Field>
          <Field field="owner_email" label="Owner email" hint="Mail notifications go here.">
            {(c) => <input {...c} type="email" value={str(draft.owner_email)} autoComplete="off" onInput={(ev) => update({ owner_email: ev.currentTarget.value })} />}
          </Field>
          <Field field="slack_webhook_url" label="Slack webhook URL">
            {(c) => <input {...c} type="url" value={str(draft.slack_webhook_url)} autoComplete="off" onInput={(ev) => update({ slack_webhook_url: ev.currentTarget.value })} />}
          </Field>
          <Field field="slack_channel" label="Slack channel">
            {(c) => <input {...c} value={str(draft.slack_channel)} autoComplete="off" placeholder="#ops" onInput={(ev) => update({ slack_channel: ev.currentTarget.value })} />}
          </Field>
        </div>
      </fieldset>

      <details class="card" open={Object.keys(processorMap(draft.processors)).length > 0}>
        <summary>Processors (optional)</summary>
        <ProcessorsFields value={processorMap(draft.processors)} names={processors} set={(p) => update({ processors: p })} />
      </details>

      <details class="card">
        <summary>Advanced</summary>
        <div class="row3">
          <Field field="catch_up" label="Missed ticks" hint="Ticks missed while no scheduler ran.">
            {(c) => (
              <select {...c} value={str(draft.catch_up)} onChange={(ev) => update({ catch_up: ev.currentTarget.value || undefined })}>
                <option value="">Default (latest)</option>
                <option value="latest">Run the latest once</option>
                <option value="all">Run them all</option>
                <option value="skip">Skip them</option>
              </select>
            )}
          </Field>
          <Field field="starting_deadline" label="Starting deadline" hint="Older missed ticks are not caught up.">
            {(c) => <input {...c} value={str(draft.starting_deadline)} placeholder="e.g. 10m (no limit)" onInput={(ev) => update({ starting_deadline: ev.currentTarget.value })} />}
          </Field>
          <Field field="max_start_delay" label="Start SLO" hint="A scheduled run starting later than this after its tick notifies (as a failure does).">
            {(c) => <input {...c} value={str(draft.max_start_delay)} placeholder="e.g. 30s (none)" autoComplete="off" onInput={(ev) => update({ max_start_delay: ev.currentTarget.value })} />}
          </Field>
          <Field field="history_limit" label="Executions kept" hint="0: the agent's default.">
            {(c) => <input {...c} type="number" min={0} value={str(draft.history_limit ?? 0)} onInput={(ev) => update({ history_limit: num(ev.currentTarget.value) })} />}
          </Field>
          <Field field="starts_at" label="Starts at">
            {(c) => <input {...c} value={str(draft.starts_at)} placeholder="RFC 3339 or YYYY-MM-DDTHH:MM" onInput={(ev) => update({ starts_at: ev.currentTarget.value || null })} />}
          </Field>
          <Field field="expires_at" label="Expires at">
            {(c) => <input {...c} value={str(draft.expires_at)} placeholder="RFC 3339 or YYYY-MM-DDTHH:MM" onInput={(ev) => update({ expires_at: ev.currentTarget.value || null })} />}
          </Field>
          <Check field="ephemeral" label="Ephemeral" hint="Deleted after its first successful run." checked={draft.ephemeral === true} set={(on) => update({ ephemeral: on })} />
        </div>
        <KeyValues noun="metadata entry" legend="Metadata" field="metadata" pairs={toPairs(strMap(draft.metadata))} onChange={(p) => update({ metadata: fromPairs(p) })} hint="Free-form labels; GET /v1/jobs?metadata[key]=value filters by them." />
      </details>
    </div>
  );
}
