// A small mini-program client written the way the front-end team writes theirs: every type comes from
// schema.d.ts, which openapi-typescript generates from the API's OpenAPI document. `make client-check`
// regenerates it and type-checks this file, so a renamed operation, a removed or retyped answer field or
// a new required input breaks the build here before it breaks the mini-program.
import type { components, operations } from "./schema";

type Schemas = components["schemas"];
type ErrorBody = Schemas["ErrorBody"];
type JsonOf<R> = R extends { content: { "application/json": infer B } } ? B : never;
type Answer<Op> = Op extends { responses: infer R }
  ? 200 extends keyof R ? JsonOf<R[200]> : 201 extends keyof R ? JsonOf<R[201]> : never
  : never;
type BodyOf<Op> = Op extends { requestBody?: { content: { "application/json": infer B } } } ? B : never;
type QueryOf<Op> = Op extends { parameters: { query?: infer Q } } ? NonNullable<Q> : never;
type PathOf<Op> = Op extends { parameters: { path: infer P } } ? P : never;

/** What wx.request (or fetch in a test) does for us: one HTTP exchange with a JSON answer. */
export type Transport = (request: {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  url: string;
  headers: Record<string, string>;
  body?: unknown;
}) => Promise<{ status: number; data: unknown }>;

export class ApiError extends Error {
  constructor(readonly status: number, readonly body: ErrorBody) {
    super(body.message); // Chinese, ready to show in a toast
  }
}

function query(params: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined || value === null) continue;
    for (const v of Array.isArray(value) ? value : [value]) {
      parts.push(`${encodeURIComponent(name)}=${encodeURIComponent(String(v))}`);
    }
  }
  return parts.length ? `?${parts.join("&")}` : "";
}

export class SpringCityYouth {
  private accessToken: string | null = null;

  constructor(private readonly base: string, private readonly send: Transport) {}

  private async call<T>(method: Parameters<Transport>[0]["method"], path: string,
                        options: { body?: unknown; headers?: Record<string, string> } = {}): Promise<T> {
    const headers: Record<string, string> = { "content-type": "application/json", ...options.headers };
    if (this.accessToken) headers.authorization = `Bearer ${this.accessToken}`;
    const { status, data } = await this.send({ method, url: this.base + path, headers, body: options.body });
    if (status >= 400) throw new ApiError(status, data as ErrorBody);
    return data as T;
  }

  /** wx.login's code for a session; the answer carries the tokens and the person. */
  async login(code: string): Promise<Answer<operations["auth_wechat_login"]>> {
    const body: BodyOf<operations["auth_wechat_login"]> = { code };
    const session = await this.call<Answer<operations["auth_wechat_login"]>>(
      "POST", "/api/v1/auth/wechat/login", { body });
    this.accessToken = session.access_token;
    return session;
  }

  /** 春城青居: one page of housing projects matching the filters. */
  searchHousing(filters: QueryOf<operations["housing_search"]>
  ): Promise<Answer<operations["housing_search"]>> {
    return this.call("GET", `/api/v1/housing/projects${query(filters)}`);
  }

  /** 青年联谊交友: sign up for an event; the same key on a retry never signs up twice. */
  signUp(path: PathOf<operations["events_sign_up"]>, idempotencyKey: string
  ): Promise<Answer<operations["events_sign_up"]>> {
    return this.call("POST", `/api/v1/events/${path.event_id}/registrations`,
                     { headers: { "idempotency-key": idempotencyKey } });
  }

  /** My timeline: everything the person applied for, booked or signed up to, newest activity first. */
  timeline(page: QueryOf<operations["timeline_my_timeline"]> = {}
  ): Promise<Answer<operations["timeline_my_timeline"]>> {
    return this.call("GET", `/api/v1/me/timeline${query(page)}`);
  }
}

/** A screen's worth of use, so that the fields the mini-program reads are checked too. */
export async function demo(api: SpringCityYouth): Promise<string[]> {
  const lines: string[] = [];
  const session = await api.login("dev:demo1:1");
  const verified: boolean | undefined = session.user.real_name_verified;
  lines.push(`${session.user.nickname ?? "新用户"} ${verified ? "已实名" : "未实名"}，${session.expires_in} 秒后需刷新`);

  const page = await api.searchHousing({ district: ["呈贡区"], available_only: true, limit: 10 });
  for (const project of page.items) {
    const rent: number | null | undefined = project.min_rent_fen;
    lines.push(`${project.name}（${project.district}）${rent == null ? "" : `月租 ${rent / 100} 元起`}`);
  }
  let cursor: string | null | undefined = page.next_cursor;
  while (cursor) {
    const next = await api.searchHousing({ district: ["呈贡区"], cursor });
    cursor = next.next_cursor;
  }

  try {
    const registration = await api.signUp({ event_id: 12 }, "signup-12-demo1");
    lines.push(`报名状态：${registration.status}`);
  } catch (error) {
    if (error instanceof ApiError && error.body.code === "EVENT_SIGNUP_CLOSED") lines.push(error.body.message);
    else throw error;
  }

  const todo = await api.timeline({ needs_action: true });
  for (const item of todo.items) {
    const by: string | null | undefined = item.next_step?.by;
    lines.push(`${item.title}：${item.status_label}${by ? `，请在 ${by} 前处理` : ""}`);
  }
  return lines;
}
