/** The customer-value page's figures from the CLV CSV's records (pure: the page and its e2e read them alike). */

export interface CustomerValueRow {
  customerId: string;
  frequency: number;
  pAlive: number;
  churnBand: string;
  expectedPurchases: number;
  predictedClvMinor: number | null;
}

/** The records of `GET /v1/metrics/clv` with Accept: text/csv (parsed with columns) as numbers. */
export function valueRows(rows: readonly Record<string, string>[]): CustomerValueRow[] {
  return rows.map((r) => ({
    customerId: r.customerId,
    frequency: Number(r.frequency),
    pAlive: Number(r.pAlive),
    churnBand: r.churnBand,
    expectedPurchases: Number(r.expectedPurchases),
    predictedClvMinor: r.predictedClvMinor === '' ? null : Number(r.predictedClvMinor),
  }));
}

/** The `n` customers of highest predicted value, ties by id. */
export function topByValue(rows: readonly CustomerValueRow[], n: number): CustomerValueRow[] {
  return rows
    .filter((r) => r.predictedClvMinor !== null)
    .sort((a, b) => b.predictedClvMinor! - a.predictedClvMinor! || (a.customerId < b.customerId ? -1 : 1))
    .slice(0, n);
}
