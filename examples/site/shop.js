// The demo shop's little JavaScript, shared by its pages. It
//  - speaks the visitor's language (en, nb, da, sv, fi; texts.json),
//  - dresses the pay button in the shop's brand and shows the server's
//    product names and prices in the page's language, all from
//    /vipps/shop.json?lang=… (Vipps for NOK and SEK, MobilePay for DKK and
//    EUR, unless the Caddyfile's `brand` says otherwise), so the page never
//    advertises a price the server would not charge, and writes amounts
//    exactly as the built-in pages do (the server's price_text, and its
//    money pattern for the totals the cart adds up),
//  - tells the checkout the page's language (a hidden "lang" field), so
//    the order, the payment in the app and the receipt name the products
//    as the page did,
//  - keeps the cart in localStorage: a product's button adds to it, and the
//    header counts what is in it.
// Without JavaScript every product's form still posts to /vipps/checkout
// and buys that product at once. The site's addresses are relative
// ("vipps/checkout", "vipps/shop.json"), so it works as well under a path
// prefix that a proxy strips (public_url https://example.com/shop).
"use strict";

window.demoShop = (async function () {
	const languages = ["en", "nb", "da", "sv", "fi"];
	const wanted = (navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || "en"])
		.map((l) => l.toLowerCase().split("-")[0]).map((l) => (l === "no" || l === "nn" ? "nb" : l));
	const lang = wanted.find((l) => languages.includes(l)) || "en";

	let info = { brand: "Vipps", currency: "NOK", products: [] };
	let texts = {};
	try {
		const [shopResp, textResp] = await Promise.all([
			fetch("vipps/shop.json?lang=" + encodeURIComponent(lang), { headers: { Accept: "application/json" } }),
			fetch("texts.json"),
		]);
		if (shopResp.ok) {
			info = await shopResp.json();
		}
		if (textResp.ok) {
			const all = await textResp.json();
			texts = Object.assign({}, all.en, all[lang]);
		}
	} catch {
		// The static texts and prices stay.
	}
	const brand = info.brand === "MobilePay" ? "MobilePay" : "Vipps";
	// An amount in minor units as the server writes it: its prefix, the
	// whole units in groups of three, its decimal separator, two digits,
	// its suffix. Integers only, so no rounding can change a digit.
	const pattern = info.money || { prefix: (info.currency || "NOK") + " ", suffix: "", group: ",", decimal: "." };
	const money = (minor) => {
		const whole = String(Math.floor(minor / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, pattern.group);
		return pattern.prefix + whole + pattern.decimal + String(minor % 100).padStart(2, "0") + pattern.suffix;
	};
	const t = (key, args) => {
		let s = texts[key] || key;
		for (const [name, value] of Object.entries(Object.assign({ brand }, args))) {
			s = s.split("{" + name + "}").join(String(value));
		}
		return s;
	};
	const products = new Map((info.products || []).map((p) => [p.sku, p]));

	// The cart: {sku: qty}, only products the shop sells.
	const key = "demo-shop-cart";
	const read = () => {
		try {
			const raw = JSON.parse(localStorage.getItem(key) || "{}");
			const cart = {};
			for (const [sku, qty] of Object.entries(raw)) {
				const n = Math.floor(Number(qty));
				if (n > 0 && (products.size === 0 || products.has(sku))) {
					cart[sku] = Math.min(n, 99);
				}
			}
			return cart;
		} catch {
			return {};
		}
	};
	const write = (cart) => {
		localStorage.setItem(key, JSON.stringify(cart));
		showCount();
	};
	const count = () => Object.values(read()).reduce((a, b) => a + b, 0);
	function showCount() {
		const n = count();
		for (const el of document.querySelectorAll("[data-cart-count]")) {
			el.textContent = n === 0 ? t("cart.link.0") : n === 1 ? t("cart.link.1") : t("cart.link.n", { n });
		}
	}

	document.documentElement.lang = lang;
	document.documentElement.dataset.brand = brand.toLowerCase();
	for (const el of document.querySelectorAll("[data-t]")) {
		el.textContent = t(el.dataset.t);
	}
	for (const el of document.querySelectorAll("[data-t-label]")) {
		el.setAttribute("aria-label", t(el.dataset.tLabel));
	}
	if (document.body.dataset.title) {
		document.title = t(document.body.dataset.title);
	}
	for (const [sku, p] of products) {
		for (const el of document.querySelectorAll(`[data-price-of="${CSS.escape(sku)}"]`)) {
			el.textContent = p.price_text || money(p.price);
		}
		for (const el of document.querySelectorAll(`[data-name-of="${CSS.escape(sku)}"]`)) {
			el.textContent = p.name;
		}
	}
	for (const form of document.querySelectorAll('form[action="vipps/checkout"]')) {
		const field = document.createElement("input");
		Object.assign(field, { type: "hidden", name: "lang", value: lang });
		form.append(field);
	}

	// A product's form adds to the cart instead of buying at once.
	for (const form of document.querySelectorAll("form.buy")) {
		const sku = form.querySelector('input[name="sku"]').value;
		const button = form.querySelector('button[type="submit"]');
		button.textContent = t("add");
		button.classList.remove("vipps-button");
		button.classList.add("add-button");
		form.addEventListener("submit", (ev) => {
			ev.preventDefault();
			const qty = Math.max(1, Math.floor(Number(form.querySelector('input[name="qty"]').value) || 1));
			const cart = read();
			cart[sku] = Math.min((cart[sku] || 0) + qty, 99);
			write(cart);
			const status = document.getElementById("added");
			if (status) {
				status.textContent = t("added", { name: (products.get(sku) || { name: sku }).name, qty: cart[sku] });
			}
		});
	}
	showCount();
	document.documentElement.dataset.ready = "true";
	return { t, money, products, read, write, lang, brand };
})();
