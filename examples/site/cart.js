// The cart page: draws the cart kept by shop.js as one form of sku/qty
// pairs (plus an optional phone number) that posts to /vipps/checkout.
// Quantities can be changed and lines removed; every change is kept at
// once. The server prices the order from its own catalog.
"use strict";

(async function () {
	const shop = await window.demoShop;
	const form = document.getElementById("cart");
	const list = document.getElementById("lines");
	const empty = document.getElementById("cart-empty");
	const filled = document.getElementById("cart-filled");

	function el(tag, attrs, ...children) {
		const e = document.createElement(tag);
		for (const [k, v] of Object.entries(attrs || {})) {
			e.setAttribute(k, v);
		}
		e.append(...children);
		return e;
	}

	function draw() {
		const cart = shop.read();
		list.replaceChildren();
		let total = 0;
		for (const [sku, qty] of Object.entries(cart)) {
			const p = shop.products.get(sku) || { sku, name: sku, price: 0 };
			total += p.price * qty;
			const input = el("input", { type: "number", id: "qty-" + sku, name: "qty", value: String(qty), min: "1", max: "99", step: "1", inputmode: "numeric", required: "" });
			const fewer = el("button", { type: "button", class: "step", "aria-label": shop.t("cart.fewer", { name: p.name }) }, "−");
			const more = el("button", { type: "button", class: "step", "aria-label": shop.t("cart.more", { name: p.name }) }, "+");
			const remove = el("button", { type: "button", class: "remove", "aria-label": shop.t("cart.remove.of", { name: p.name }) }, shop.t("cart.remove"));
			const set = (n) => {
				const c = shop.read();
				if (n <= 0) {
					delete c[sku];
				} else {
					c[sku] = Math.min(n, 99);
				}
				shop.write(c);
				draw();
			};
			fewer.addEventListener("click", () => set(qty - 1));
			more.addEventListener("click", () => set(qty + 1));
			remove.addEventListener("click", () => set(0));
			input.addEventListener("change", () => set(Math.floor(Number(input.value) || 0)));
			list.append(el("li", { class: "line", "data-sku": sku },
				el("input", { type: "hidden", name: "sku", value: sku }),
				el("div", { class: "line-name" }, el("span", { class: "name" }, p.name), el("span", { class: "unit-price" }, shop.money(p.price))),
				el("div", { class: "line-qty" },
					el("label", { class: "visually-hidden", for: "qty-" + sku }, shop.t("cart.qty.of", { name: p.name })),
					fewer, input, more),
				el("div", { class: "line-total" }, shop.money(p.price * qty)),
				remove));
		}
		document.getElementById("cart-total").textContent = shop.money(total);
		const none = Object.keys(cart).length === 0;
		empty.hidden = !none;
		filled.hidden = none;
	}

	form.hidden = false;
	draw();
	window.addEventListener("storage", draw);
})();
