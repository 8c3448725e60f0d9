// The part of autocannon's API that bench/load.ts uses (the package ships no types).
declare module 'autocannon' {
  type Request = {
    method?: string;
    path?: string;
    headers?: Record<string, string>;
    body?: string;
    setupRequest?: (req: Record<string, unknown>) => Record<string, unknown>;
    onResponse?: (status: number, body: string) => void;
  };
  type Options = { url: string; connections?: number; duration?: number; amount?: number; requests?: Request[] };
  type Result = { duration: number; latency: { p50: number; p99: number; average: number }; requests: { average: number } };
  export default function autocannon(opts: Options): Promise<Result>;
}
