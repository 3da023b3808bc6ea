export function price(cart) {
  // A cart without lines has no total: this throws.
  return cart.lines.reduce((sum, line) => sum + line.amount, 0);
}
