/** The page shown for the current route, inside the layout; the sign-in screen when the agent wants a token. */
import type { JSX } from 'preact';
import { useEffect } from 'preact/hooks';
import { Layout } from './components/layout.js';
import { useStore } from './hooks.js';
import { router } from './router.js';
import { session } from './session.js';
import { SignIn } from './pages/sign-in.js';
import { Dashboard } from './pages/dashboard.js';
import { JobsPage } from './pages/jobs.js';
import { JobPage } from './pages/job.js';
import { EditorPage } from './pages/editor.js';
import { MembersPage } from './pages/members.js';
import { BusyPage } from './pages/busy.js';

export function App(): JSX.Element {
  const r = useStore(router).route;
  const s = useStore(session);
  // A new page, not a new query (typing in the jobs search must keep its focus).
  const pageKey = `${r.page}:${'name' in r ? r.name : ''}`;
  useEffect(() => {
    // Keyboard and screen-reader users land on the new content, not the old scroll position.
    document.getElementById('main')?.focus({ preventScroll: true });
    window.scrollTo(0, 0);
  }, [pageKey]);
  if (s.signIn) {
    return (
      <Layout route={r}>
        <SignIn message={s.signIn.message} />
      </Layout>
    );
  }
  let page: JSX.Element;
  switch (r.page) {
    case 'dashboard':
      page = <Dashboard />;
      break;
    case 'jobs':
      page = <JobsPage query={r.query} />;
      break;
    case 'job':
      page = <JobPage key={r.name} name={r.name} query={r.query} />;
      break;
    case 'edit':
      page = <EditorPage key={`edit:${r.name}`} name={r.name} />;
      break;
    case 'new':
      page = <EditorPage key="new" name={null} />;
      break;
    case 'members':
      page = <MembersPage />;
      break;
    case 'busy':
      page = <BusyPage section={r.query.get('section')} />;
      break;
    default:
      page = (
        <div>
          <h1>Not found</h1>
          <p>
            No such page. <a href="#/">Back to the dashboard</a>
          </p>
        </div>
      );
  }
  return <Layout route={r}>{page}</Layout>;
}
