/** Money is integer minor units: these helpers refuse anything else instead of rounding. */
export function isMinorUnits(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n);
}

export function purchaseTotal(p: {
  items: readonly { quantity: number; unitPriceMinor: number }[];
  discountMinor?: number;
  shippingMinor?: number;
  taxMinor?: number;
}): number {
  let sum = 0;
  for (const item of p.items) sum += item.quantity * item.unitPriceMinor;
  return sum + (p.shippingMinor ?? 0) + (p.taxMinor ?? 0) - (p.discountMinor ?? 0);
}
