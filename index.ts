import { program } from "./program";

export = program({ asOf: new Date() });
