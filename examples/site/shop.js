// Dresses the buy buttons in the shop's brand. The server decides it
// (Vipps for NOK and SEK, MobilePay for DKK and EUR, unless the Caddyfile's
// `brand` says otherwise) and publishes it with the catalog at
// /vipps/shop.json; the page also shows the server's prices from there, so
// it never advertises a price the server would not charge. Without
// JavaScript the page keeps its static texts and still works.
"use strict";

(async function () {
	let info;
	try {
		const resp = await fetch("/vipps/shop.json", { headers: { Accept: "application/json" } });
		if (!resp.ok) {
			return;
		}
		info = await resp.json();
	} catch {
		return;
	}
	const brand = info.brand === "MobilePay" ? "MobilePay" : "Vipps";
	document.documentElement.dataset.brand = brand.toLowerCase();
	for (const button of document.querySelectorAll(".vipps-button[data-label]")) {
		button.textContent = button.dataset.label.replace("{brand}", brand);
	}
	for (const el of document.querySelectorAll("[data-brand-name]")) {
		el.textContent = brand;
	}
	const money = (minor) => (minor / 100).toFixed(2) + " " + (info.currency === "NOK" || info.currency === "DKK" || info.currency === "SEK" ? "kr" : "€");
	for (const p of info.products || []) {
		for (const el of document.querySelectorAll(`[data-price-of="${CSS.escape(p.sku)}"]`)) {
			el.textContent = money(p.price);
		}
		for (const row of document.querySelectorAll(`tr.line[data-sku="${CSS.escape(p.sku)}"]`)) {
			row.dataset.unitOre = String(p.price);
			const unit = row.querySelector(".unit-price");
			if (unit) {
				unit.textContent = money(p.price);
			}
		}
	}
	const cart = document.getElementById("cart");
	if (cart) {
		cart.dispatchEvent(new Event("input"));
	}
})();
