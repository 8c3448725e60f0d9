// The HTML answer for a task or claim that does not exist (the JSON API keeps its own error shape).
import { Layout } from './layout.tsx';

export function NotFoundPage(props: { what: string }) {
  return (
    <Layout title="Not found">
      <h1>Not found</h1>
      <p>{props.what}</p>
      <p>
        <a href="/">Back to the tasks</a>
      </p>
    </Layout>
  );
}
