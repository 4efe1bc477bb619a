/** The backend contract on the embedded store: an in-memory SQLite database per store, no cluster. */
import { SqliteStore } from '../../src/backends/embedded/sqlite-store.js';
import { backendContract } from './backend-contract.js';

backendContract({
  label: 'embedded',
  openStore: async (options) => SqliteStore.open(':memory:', options),
});
