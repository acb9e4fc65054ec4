// A deterministic Nexmark event generator: persons, auctions and bids in the standard proportions
// (1 : 3 : 46 of every 50 events), event time advancing by `delayMs` per event with up to
// `outOfOrderMs` of disorder. Event `n` depends only on (seed, n), so any slice can be generated
// alone (seekable), and it is usable as a weir source through sources.generator({ make }).
const FIRST_NAMES = ['Peter', 'Paul', 'Luke', 'John', 'Saul', 'Vicky', 'Kate', 'Julie', 'Sarah', 'Deiter', 'Walter'];
const LAST_NAMES = ['Shultz', 'Abrams', 'Spencer', 'White', 'Bartels', 'Walton', 'Smith', 'Jones', 'Noris'];
const STATES = ['AZ', 'CA', 'ID', 'OR', 'WA', 'WY'];
const CITIES = ['Phoenix', 'Los Angeles', 'San Francisco', 'Boise', 'Portland', 'Bend', 'Redmond', 'Seattle', 'Kent', 'Cheyenne'];
const CHANNELS = ['Google', 'Facebook', 'Baidu', 'Apple'];

export const NEXMARK_BASE_TIME = Date.UTC(2026, 0, 1);
const FIRST_ID = 1000;
const HOT_AUCTIONS = 100;
const HOT_SELLERS = 100;

export const DEFAULT_CONFIG = { delayMs: 0.02, outOfOrderMs: 2000 };

/** Make event `n` with `rng` positioned for it (see sources.generator's Rng). */
export function makeNexmarkEvent(n, rng, config = DEFAULT_CONFIG) {
  const epoch = Math.floor(n / 50);
  const rem = n % 50;
  const t = NEXMARK_BASE_TIME + Math.floor(n * config.delayMs) - (config.outOfOrderMs > 0 ? rng.int(config.outOfOrderMs) : 0);
  if (rem === 0) {
    return {
      kind: 'person',
      id: FIRST_ID + epoch,
      name: `${rng.pick(FIRST_NAMES)} ${rng.pick(LAST_NAMES)}`,
      email: `p${epoch}@example.com`,
      city: rng.pick(CITIES),
      state: rng.pick(STATES),
      t,
    };
  }
  const lastPerson = FIRST_ID + epoch;
  if (rem < 4) {
    const id = FIRST_ID + epoch * 3 + (rem - 1);
    const seller = rng.int(4) === 0 ? lastPerson - (lastPerson % HOT_SELLERS) : lastPerson - rng.int(Math.min(1000, epoch + 1));
    return {
      kind: 'auction',
      id,
      seller,
      category: 10 + rng.int(5),
      initialBid: 100 + rng.int(1000),
      t,
      expires: t + 2000 + rng.int(20_000),
    };
  }
  const lastAuction = FIRST_ID + epoch * 3 + 2;
  const auction = rng.int(2) === 0 ? lastAuction - (lastAuction % HOT_AUCTIONS) : lastAuction - rng.int(Math.min(3000, epoch * 3 + 3));
  const bidder = rng.int(4) === 0 ? lastPerson - (lastPerson % HOT_SELLERS) : lastPerson - rng.int(Math.min(1000, epoch + 1));
  return {
    kind: 'bid',
    auction,
    bidder,
    price: 100 + rng.int(100_000),
    channel: rng.pick(CHANNELS),
    t,
  };
}
