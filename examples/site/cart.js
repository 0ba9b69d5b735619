// Keeps the cart's displayed amounts in step with the quantity fields. Only
// the page display changes: the form still sends just sku and qty, and the
// server prices the order from its own catalog. The cart works without this.
"use strict";

(function () {
	const form = document.getElementById("cart");
	if (!form) {
		return;
	}
	const kr = (ore) => (ore / 100).toFixed(2) + " kr";

	function update() {
		let total = 0;
		for (const row of form.querySelectorAll("tr.line")) {
			const unit = Number(row.dataset.unitOre);
			const qty = Math.max(0, Math.floor(Number(row.querySelector('input[name="qty"]').value) || 0));
			const amount = unit * qty;
			total += amount;
			row.querySelector(".line-total").textContent = kr(amount);
		}
		document.getElementById("cart-total").textContent = kr(total);
	}

	form.addEventListener("input", update);
	update();
})();
