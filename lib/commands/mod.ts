/**
 * Registers every subcommand of the command line.
 *
 * @module
 */

import "./info.ts";
import "./restore.ts";
import "./degrade.ts";
import "./demo.ts";
import "./serve.ts";
import "./bench.ts";
