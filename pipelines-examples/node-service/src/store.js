const { Pool } = require("pg");

function createStore(url) {
  const pool = new Pool({ connectionString: url });
  return {
    async init() {
      await pool.query("CREATE TABLE IF NOT EXISTS todos (id serial PRIMARY KEY, title text NOT NULL, done boolean DEFAULT false)");
    },
    async add(title) {
      const { rows } = await pool.query("INSERT INTO todos (title) VALUES ($1) RETURNING *", [title]);
      return rows[0];
    },
    async list() {
      const { rows } = await pool.query("SELECT * FROM todos ORDER BY id");
      return rows;
    },
    close: () => pool.end(),
  };
}

module.exports = { createStore };
