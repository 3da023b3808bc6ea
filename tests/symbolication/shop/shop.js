import { price } from "./cart.js";

export function renderCart(cart) {
  const total = price(cart);
  return total.toFixed(2);
}

window.checkout = function checkout() {
  setTimeout(function () { renderCart({}); });
};
