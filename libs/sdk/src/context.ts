import type { EventContext } from './types';

interface PageLike {
  location?: { href?: string; pathname?: string; search?: string };
  navigator?: { userAgent?: string; language?: string };
  referrer?: string;
}

const UTM: Record<string, string> = {
  utm_source: 'utmSource',
  utm_medium: 'utmMedium',
  utm_term: 'utmTerm',
  utm_content: 'utmContent',
};

/** Browser context: page URL and path, referrer, user agent, locale, timezone, UTM params (utm_campaign → campaign). */
export function pageContext(page: PageLike): EventContext {
  const ctx: Record<string, string> = {};
  const href = page.location?.href;
  if (href) {
    ctx.pageUrl = href;
    try {
      const url = new URL(href);
      ctx.pagePath = url.pathname;
      const campaign = url.searchParams.get('utm_campaign');
      if (campaign) ctx.campaign = campaign;
      for (const [param, key] of Object.entries(UTM)) {
        const v = url.searchParams.get(param);
        if (v) ctx[key] = v;
      }
    } catch {
      /* not a URL: keep pageUrl only */
    }
  }
  if (page.referrer) ctx.referrer = page.referrer;
  if (page.navigator?.userAgent) ctx.userAgent = page.navigator.userAgent;
  if (page.navigator?.language) ctx.locale = page.navigator.language;
  try {
    const tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (tz) ctx.timezone = tz;
  } catch {
    /* no Intl */
  }
  // The server takes context strings up to 1000 characters: long URLs are cut, never rejected.
  for (const k of Object.keys(ctx)) if (ctx[k].length > 1000) ctx[k] = ctx[k].slice(0, 1000);
  return ctx;
}
