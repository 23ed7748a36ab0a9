// The benchmark's peer: how a JavaScript app typically mirrors Dataverse
// offline (dynamics-web-api for the Web API, better-sqlite3 for the file).
// Tables one after another, pages of 5,000 with change tracking, each page
// inserted in one transaction with its link. Written here for
// scripts/bench-network; not part of Mooring.
//
// Usage: node sync.js SERVER_URL TOKEN CONFIG.json DB_FILE
// CONFIG: {"tables":[{"name":"accounts","key":"accountid","columns":[...],
//          "lookups":["ownerid"]}]}
// Prints: peer tables=N rows=N secs=S peak_rss_kb=K

"use strict";
const fs = require("fs");
const { DynamicsWebApi } = require("dynamics-web-api");
const Database = require("better-sqlite3");

async function main() {
  const [serverUrl, token, configPath, dbPath] = process.argv.slice(2);
  if (!dbPath) {
    console.error("usage: node sync.js SERVER_URL TOKEN CONFIG.json DB_FILE");
    process.exit(2);
  }
  const config = JSON.parse(fs.readFileSync(configPath, "utf8"));
  const api = new DynamicsWebApi({
    serverUrl,
    dataApi: { version: "9.2" },
    onTokenRefresh: async () => token,
  });
  const db = new Database(dbPath);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.exec("CREATE TABLE IF NOT EXISTS sync_state (tbl TEXT PRIMARY KEY, next_link TEXT, delta_link TEXT)");
  const started = process.hrtime.bigint();
  let rows = 0;
  for (const t of config.tables) {
    const lookups = new Set(t.lookups || []);
    // A lookup's value comes as _<name>_value.
    const wire = t.columns.map((c) => (lookups.has(c) ? `_${c}_value` : c));
    const cols = [t.key, ...t.columns];
    db.exec(
      `CREATE TABLE IF NOT EXISTS "${t.name}" (${cols
        .map((c, i) => `"${c}"${i === 0 ? " TEXT PRIMARY KEY" : ""}`)
        .join(", ")})`,
    );
    const insert = db.prepare(
      `INSERT OR REPLACE INTO "${t.name}" (${cols.map((c) => `"${c}"`).join(", ")}) VALUES (${cols
        .map(() => "?")
        .join(", ")})`,
    );
    const saveState = db.prepare(
      "INSERT OR REPLACE INTO sync_state (tbl, next_link, delta_link) VALUES (?, ?, ?)",
    );
    const writePage = db.transaction((page) => {
      for (const r of page.value) {
        insert.run(
          r[t.key],
          ...wire.map((w) => {
            const v = r[w];
            if (v === undefined || v === null) return null;
            if (typeof v === "boolean") return v ? 1 : 0;
            if (v instanceof Date) return v.toISOString();
            if (typeof v === "object") return JSON.stringify(v);
            return v;
          }),
        );
      }
      saveState.run(t.name, page.oDataNextLink || null, page.oDataDeltaLink || null);
    });
    const request = {
      collection: t.name,
      select: [t.key, ...wire],
      maxPageSize: 5000,
      trackChanges: true,
    };
    let page = await api.retrieveMultiple(request);
    for (;;) {
      writePage(page);
      rows += page.value.length;
      if (!page.oDataNextLink) break;
      page = await api.retrieveMultiple(request, page.oDataNextLink);
    }
  }
  const secs = Number(process.hrtime.bigint() - started) / 1e9;
  db.close();
  console.log(
    `peer tables=${config.tables.length} rows=${rows} secs=${secs.toFixed(2)} peak_rss_kb=${process.resourceUsage().maxRSS}`,
  );
}

main().catch((e) => {
  console.error(`peer: ${e && e.message ? e.message : e}`);
  process.exit(1);
});
