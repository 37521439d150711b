// The funnel builder: add and remove steps (two at least, eight at most). Without this script the
// form still works: it shows the steps of the funnel as it was last run.

const list = document.getElementById("funnel-steps");
const add = document.getElementById("add-step");

function renumber() {
  const rows = [...list.querySelectorAll(".step-row")];
  rows.forEach((row, index) => {
    const n = index + 1;
    row.querySelector("legend").textContent = add.dataset.label.replace("{n}", n);
    for (const field of row.querySelectorAll("input, select")) {
      const base = field.id.replace(/-\d+$/, "");
      const label = row.querySelector(`label[for="${field.id}"]`);
      field.id = `${base}-${n}`;
      if (label) label.htmlFor = field.id;
    }
    const remove = row.querySelector(".remove-step");
    remove.setAttribute("aria-label", add.dataset.remove.replace("{n}", n));
    remove.title = remove.getAttribute("aria-label");
    remove.disabled = rows.length <= 2;
  });
  add.disabled = rows.length >= Number(list.dataset.max);
}

if (list && add) {
  add.addEventListener("click", () => {
    const rows = list.querySelectorAll(".step-row");
    const copy = rows[rows.length - 1].cloneNode(true);
    for (const input of copy.querySelectorAll("input")) input.value = "";
    for (const select of copy.querySelectorAll("select")) select.selectedIndex = 0;
    list.append(copy);
    renumber();
    copy.querySelector("input[name=event]").focus();
  });
  list.addEventListener("click", (event) => {
    const button = event.target.closest(".remove-step");
    if (!button || list.querySelectorAll(".step-row").length <= 2) return;
    button.closest(".step-row").remove();
    renumber();
    list.querySelector("input[name=event]").focus();
  });
  renumber();
}
