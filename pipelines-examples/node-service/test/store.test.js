const test = require("node:test");
const assert = require("node:assert");
const { createStore } = require("../src/store");

test("a todo that was added is listed", async () => {
  const store = createStore(process.env.DATABASE_URL);
  await store.init();
  const added = await store.add("write tests");
  const all = await store.list();
  assert.ok(all.some((t) => t.id === added.id && t.title === "write tests"));
  await store.close();
});
