import { runProgram } from "./bin/mock-runtime";
(async () => {
  for (const ccu of ["100", "20000"]) {
    const t = Date.now();
    const r = await runProgram({ ccu, serverName: "m.example.com" });
    console.log(ccu, Date.now() - t, "ms", r.resources.length, r.resources.map(x => x.type + ":" + x.name).join(", "));
    console.log(JSON.stringify(r.outputs).slice(0, 300));
  }
})();
