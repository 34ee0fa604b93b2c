import { PolicyPack } from "@pulumi/policy";
import { POLICIES } from "./policies";

new PolicyPack("matrix-scale", { policies: POLICIES });
