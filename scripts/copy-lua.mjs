// Usage: node scripts/copy-lua.mjs <compiled src dir>
// tsc compiles src/ but copies no Lua: the scripts the connection loads sit next to its
// compiled file (`<out>/core/redis/lua/*.lua`), as nest-cli.json's assets put them in dist/.
import { cpSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const [out] = process.argv.slice(2);
if (!out) {
  console.error('usage: node scripts/copy-lua.mjs <compiled src dir>');
  process.exit(2);
}
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
cpSync(join(root, 'src', 'core', 'redis', 'lua'), join(out, 'core', 'redis', 'lua'), { recursive: true });
