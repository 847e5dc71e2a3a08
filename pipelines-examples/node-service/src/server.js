const http = require("node:http");
const { createStore } = require("./store");

const store = createStore(process.env.DATABASE_URL);

http.createServer(async (req, res) => {
  if (req.method === "GET" && req.url === "/todos") {
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify(await store.list()));
    return;
  }
  res.statusCode = 404;
  res.end();
}).listen(process.env.PORT || 3000);
