/** A page_view that meets schemas/page_view/2.json: the 20-field schema of the benchmark. */
export const pageViewV2 = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  type: 'page_view',
  schema_version: 2,
  occurred_at: '2026-12-03T08:00:00.000Z',
  sent_at: '2026-12-03T08:00:00.120Z',
  anonymous_id: '7d0c5f5e-0b7a-4f7e-9a43-1b2f0d3c4e5f',
  user_id: 'u-42',
  session_id: 's-9',
  url: 'https://example.com/pricing?plan=pro',
  path: '/pricing',
  referrer: null,
  title: 'Pricing',
  locale: 'en-GB',
  device: { kind: 'desktop', os: 'linux', screen_width: 1920, screen_height: 1080 },
  utm: { source: 'newsletter', medium: 'email', campaign: 'winter' },
  load_time_ms: 412.5,
  consent: true,
  tags: ['a', 'b'],
  ...extra,
});

