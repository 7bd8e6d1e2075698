-- mekiki.rspamd -- the logic of mekiki's rspamd plugin (plugins.d/mekiki.lua
-- registers it; this module registers nothing).
--
-- An adapter: every decision is made by the native module `mekiki`
-- (libmekiki's policy engine, the same one SpamAssassin's plugin and the
-- `mekiki policy` command use).  This module checks the options, builds the
-- maps rspamd delivers, builds each message's view (subject, text parts, From
-- names and addresses, Reply-To, DMARC and delivery-report facts, links with
-- their shown text), hands it to the engine in one call and inserts the
-- verdict; then it resolves the link hosts the engine names, with rspamd's
-- own asynchronous resolver (A, AAAA when A has no address; at most max_dns
-- names per message, answers cached per worker), and inserts the engine's
-- network verdict (MEKIKI_SENDER_ASN, MEKIKI_URL_ASN, MEKIKI_URL_SHARED_IP).
--
-- Installed as mekiki/rspamd.lua on rspamd's package.path
-- (/usr/local/share/lua/5.1 by default: LuaJIT's own path, which rspamd keeps
-- after its lualib).  What each symbol means: README, "What it detects".

local N = 'mekiki'
local rspamd_logger = require 'rspamd_logger'
local lua_util = require 'lua_util'
local rspamd_util = require 'rspamd_util'
local mekiki = require 'mekiki'

-- No JIT for this module: nearly every line calls rspamd's C API, which
-- LuaJIT cannot compile into a trace; each attempt ends in an aborted trace,
-- and LuaJIT aborts by unwinding the C stack (rspamd's libunwind: dozens of
-- rt_sigprocmask calls) and re-protecting machine code (mprotect) -- more
-- worker time than the code itself.  The interpreter runs it at once.
if jit then
  jit.off(true, true)
end

local settings = {
  brands_map = nil,          -- required: URL or path of the brand catalogue
  tld_map = nil,             -- URL or path of the TLD weights (optional)
  hosting_map = nil,         -- URL or path of the free-hosting suffixes (optional)
  labels_map = nil,          -- URL or path of the label baselines (optional)
  lures_map = nil,           -- URL or path of the lure phrases (optional)
  cache_dir = '',            -- compiled brand and lure patterns kept here ('': none)
  max_urls = 200,            -- links looked at per message
  max_map_bytes = 16777216,  -- a bigger map (a runaway HTTP map) is refused
  max_text_bytes = 1048576,  -- bytes scanned per text part; the rest is skipped
  max_parts = 16,            -- text parts scanned per message
  max_hits = 64,             -- look-alikes recorded for subject+body; hits per name
  max_options = 8,           -- options shown per symbol
  symbol_check = 'MEKIKI_CHECK',
  symbol_brand_confusable = 'MEKIKI_BRAND_CONFUSABLE',
  symbol_from_confusable = 'MEKIKI_FROM_CONFUSABLE',
  symbol_from_brand_spoof = 'MEKIKI_FROM_BRAND_SPOOF',
  symbol_brand_confusable_weak = 'MEKIKI_BRAND_CONFUSABLE_WEAK',
  symbol_invisible_in_word = 'MEKIKI_INVISIBLE_IN_WORD',
  symbol_url_tld = 'MEKIKI_URL_TLD',
  symbol_url_free_hosting = 'MEKIKI_URL_FREE_HOSTING',
  symbol_url_random_label = 'MEKIKI_URL_RANDOM_LABEL',
  symbol_url_lookalike = 'MEKIKI_URL_LOOKALIKE',
  symbol_lure = 'MEKIKI_LURE',
  symbol_brand_url_mismatch = 'MEKIKI_BRAND_URL_MISMATCH',
  symbol_from_tld = 'MEKIKI_FROM_TLD',
  symbol_subject_brand = 'MEKIKI_SUBJECT_BRAND',
  symbol_body_brand = 'MEKIKI_BODY_BRAND',
  symbol_brand_replyto_mismatch = 'MEKIKI_BRAND_REPLYTO_MISMATCH',
  -- ASN: networks of the sender and of the link hosts
  asn_db = nil,               -- path of a MaxMind DB (GeoLite2-ASN format)
  asn_map = nil,              -- URL or path of the ASN weights
  max_dns = 8,                -- link hosts resolved per message (A, else AAAA); 0: none
  dns_cache_size = 4096,      -- host -> addresses cached per worker (LRU)
  dns_cache_ttl = 600,        -- seconds an answer is cached
  shared_ip_min_domains = 2,  -- unrelated domains on one address to count
  asn_db_check_interval = 60, -- seconds between checks for a new asn_db file
  symbol_asn_check = 'MEKIKI_ASN_CHECK',
  symbol_sender_asn = 'MEKIKI_SENDER_ASN',
  symbol_url_asn = 'MEKIKI_URL_ASN',
  symbol_url_shared_ip = 'MEKIKI_URL_SHARED_IP',
  -- Campaign memory (Redis; README "Campaign memory"): on when a Redis
  -- server is configured here (servers = ..., rspamd's Redis options) or in
  -- the global redis { } section, and the ASN checks are on.
  campaign = {
    enabled = true,
    prefix = 'mkc:',                   -- every key mekiki writes starts so
    ttl = 604800,                      -- seconds a feature lives after its last confident detection
    learn_symbols = { 'MEKIKI_PHISH' },  -- a confident detection has one of these ...
    learn_actions = { 'reject' },        -- ... and one of these actions
    log_interval = 60,                 -- seconds between two log lines of Redis trouble
  },
  symbol_campaign_address = 'MEKIKI_CAMPAIGN_ADDRESS',
  symbol_campaign_domain = 'MEKIKI_CAMPAIGN_DOMAIN',
  symbol_campaign_network = 'MEKIKI_CAMPAIGN_NETWORK',
  symbol_campaign_shape = 'MEKIKI_CAMPAIGN_SHAPE',
  symbol_campaign_lure = 'MEKIKI_CAMPAIGN_LURE',
  symbol_campaign_sender = 'MEKIKI_CAMPAIGN_SENDER',
  symbol_campaign_learn = 'MEKIKI_CAMPAIGN_LEARN',
  symbol_campaign_check = 'MEKIKI_CAMPAIGN_CHECK',
  -- rspamd symbols meaning that the From domain failed DMARC
  dmarc_fail_symbols = { 'DMARC_POLICY_REJECT', 'DMARC_POLICY_QUARANTINE',
                         'DMARC_POLICY_SOFTFAIL' },
}

-- Whole-number options; 0 is meaningful for max_dns only (no link host is
-- resolved: IP-literal links and the sender's address are still looked up).
local counts = { 'max_text_bytes', 'max_parts', 'max_hits', 'max_options', 'max_urls',
                 'max_map_bytes', 'max_dns', 'dns_cache_size', 'dns_cache_ttl',
                 'shared_ip_min_domains', 'asn_db_check_interval' }

-- The maps rspamd delivers: option -> what the log calls it, how the
-- library builds it (each answers :count()); empty: a map that may list
-- nothing (the label baselines: none listed, the built-in threshold).
local function catalogue(data)
  return mekiki.catalogue(data, settings.cache_dir)
end
local maps = {
  brands_map = { what = 'brand catalogue', build = catalogue, cached = true },
  lures_map = { what = 'lure phrases', build = catalogue, cached = true },
  tld_map = { what = 'TLD map', build = mekiki.tld_map },
  hosting_map = { what = 'hosting map', build = mekiki.tld_map },
  labels_map = { what = 'label baselines', build = mekiki.label_map, empty = true },
  asn_map = { what = 'ASN map', build = mekiki.asn_map },
}
local loaded = {} -- option -> the map built from it; absent until it has loaded
local asn_db      -- the open MaxMind DB; nil when absent or unreadable
local dns_cache   -- host -> addresses (mekiki.lru), once the options are known

-- The policy the engine decides with, over the maps loaded now; dropped
-- when one of them (re)loads.
local policy
local function bounds()
  return { max_text_bytes = settings.max_text_bytes, max_parts = settings.max_parts,
           max_hits = settings.max_hits, max_options = settings.max_options,
           max_urls = settings.max_urls, shared_ip_min_domains = settings.shared_ip_min_domains }
end

local function current_policy()
  policy = policy or mekiki.policy(loaded.brands_map, loaded.lures_map, loaded.tld_map, bounds(),
                                   asn_db, loaded.asn_map, loaded.hosting_map,
                                   loaded.labels_map)
  return policy
end

-- ---- the message view ----

-- (a charset name -> whether it names UTF-8; a handful of names in use,
-- bounded all the same)
local utf8_names, n_utf8_names = {}, 0
local function is_utf8_name(charset)
  if charset == nil then
    return false
  end
  local known = utf8_names[charset]
  if known == nil then
    known = charset:lower():gsub('[^%w]', '') == 'utf8'
    if n_utf8_names >= 256 then
      utf8_names, n_utf8_names = {}, 0
    end
    utf8_names[charset], n_utf8_names = known, n_utf8_names + 1
  end
  return known
end

-- Declared UTF-8 (or nothing) but decoded by rspamd from another charset.
local function utf8_declared_but_converted(part)
  local charset = part:get_charset()
  if is_utf8_name(charset) then
    return false
  end
  local _, _, attrs = part:get_mimepart():get_type_full()
  local declared = attrs and attrs.charset
  return declared == nil or is_utf8_name(declared)
end

-- The text parts in the order the message has them, once per message (in
-- the task's cache).  rspamd 3.4's task:get_text_parts() lists them so;
-- 4.x lists the HTML parts first, each kind last part first.  The engine's
-- bounds (max_parts, the notice formula's first parts) and the order of its
-- options follow the message, so the text parts are taken from the list of
-- all MIME parts, which is in the message's order on every version (a
-- part's number is its place in it): the same verdict on every version.
local function text_parts(task)
  local parts = task:cache_get('mekiki_text_parts')
  if not parts then
    parts = {}
    for _, mime in ipairs(task:get_parts() or {}) do
      local text = mime:is_text() and mime:get_text()
      if text then
        parts[#parts + 1] = text
      end
    end
    task:cache_set('mekiki_text_parts', parts)
  end
  return parts
end

-- The alt texts of the images inside HTML anchors, by the anchor's URL
-- (tostring): rspamd writes an image's alt text into the text of the anchor
-- around it, and an image is no text.
local function anchor_alts(task)
  local alts, n = {}, 0
  for _, part in ipairs(text_parts(task)) do
    local html = part:is_html() and part:get_html()
    for _, img in ipairs(html and html:get_images() or {}) do
      n = n + 1
      if n > settings.max_urls then
        return alts
      end
      local alt = img.tag and img.tag:get_attribute('alt')
      if alt and #alt > 0 then
        local a, depth = img.tag:get_parent(), 0
        while a and depth < 16 and a:get_type() ~= 'a' do
          a, depth = a:get_parent(), depth + 1
        end
        local url = a and a:get_type() == 'a' and a:get_extra()
        if url and type(url) ~= 'table' then
          local key = tostring(url)
          alts[key] = alts[key] or {}
          table.insert(alts[key], alt)
        end
      end
    end
  end
  return alts
end

-- The text an HTML anchor shows for a link (visible: url:get_visible(),
-- which rspamd 3.4 sets only from its HTML parser), without its images' alt
-- texts; nil when it shows none.
local function shown_text(url, visible, alts)
  if #visible == 0 then
    return nil
  end
  visible = tostring(visible)
  local list = next(alts) and alts[tostring(url)]
  for _, alt in ipairs(list or {}) do
    local i = visible:find(alt, 1, true)
    if i then
      visible = visible:sub(1, i - 1) .. ' ' .. visible:sub(i + #alt)
    end
  end
  return visible
end

-- URLs rspamd lists that the message does not link to: the URL it reads in
-- an anchor's text (html_displayed: that text is the anchor's shown text,
-- the anchor's href its link), a URL inside another URL's query (query: the
-- engine follows only a brand's own redirectors), and a URL rspamd found
-- inside an attachment (content: a PDF's or other document's links, which
-- rspamd 4.x's get_urls() lists and 3.4's does not; never counted, so the
-- verdict is the same on every version, and the same as SpamAssassin's --
-- unless the message's text links to it too: see text_link()).
-- One integer test per URL: get_flags() would build a table of names.
local url_flags = require('rspamd_url').flags
local NOT_A_LINK_IN_TEXT = url_flags.html_displayed + url_flags.query
local NOT_A_LINK = NOT_A_LINK_IN_TEXT + url_flags.content
local has_bit, bitops = pcall(require, 'bit') -- LuaJIT's; Lua 5.3+ has the operator
local band = has_bit and bitops.band or load('return function(a, b) return a & b end')()
-- rspamd keeps one URL object per URL: a link whose URL is also an image's
-- (<img src=U> then <a href=U>, or the other way round) carries the image
-- flag, and get_urls() leaves images out by default -- a tracking pixel on
-- the phishing host would hide the link.  So images are asked for too, and
-- an image counts as a link when an anchor showed text for it (rspamd sets
-- the visible text only from anchors); SpamAssassin's URI list counts such
-- a URI as a link as well (types img and a).
local IMAGE = url_flags.image
local CONTENT = url_flags.content
local URLS_WITH_IMAGES = { images = true }

-- rspamd keeps the first URL object it meets for a URL, and 4.x reads
-- attachments before the text: a link in the text whose URL an attached PDF
-- also has is listed by get_urls() as the PDF's, flagged content, without
-- the anchor's shown text.  The object of that URL that a text part lists
-- (its own for a plain-text link; for an HTML anchor 4.x lists the one it
-- keeps, still flagged content), or nil when no text part links to it.
local function text_link(task, url, index)
  if not index.built then
    index.built = true
    local n = 0
    for _, part in ipairs(text_parts(task)) do
      for _, u in ipairs(part:get_mimepart():get_urls(false, true) or {}) do
        if n >= 4 * settings.max_urls then
          return index[tostring(url)]
        end
        n = n + 1
        local key = tostring(u)
        index[key] = index[key] or u
      end
    end
  end
  return index[tostring(url)]
end

-- The links of a message as the engine takes them, { url, host, shown },
-- and the rspamd URLs in the same order.
local function walk_links(task)
  local links, urls, n = {}, {}, 0
  local alts -- anchor_alts(), once a link shows text
  local in_text -- text_link()'s index, once a URL has the content flag
  for _, listed in ipairs(task:get_urls(URLS_WITH_IMAGES) or {}) do
    local url, flags, not_a_link = listed, listed:get_flags_num(), NOT_A_LINK
    if band(flags, CONTENT) ~= 0 then
      in_text = in_text or {}
      local own = text_link(task, listed, in_text)
      if own then
        url, flags, not_a_link = own, own:get_flags_num(), NOT_A_LINK_IN_TEXT
      end
    end
    local visible = band(flags, IMAGE) ~= 0 and url:get_visible() or nil
    if band(flags, not_a_link) == 0 and (band(flags, IMAGE) == 0 or (visible and #visible > 0)) then
      if n >= settings.max_urls then
        lua_util.debugm(N, task, 'skipping links after the %s-th', settings.max_urls)
        break
      end
      n = n + 1
      urls[n] = url
      local shown = loaded.brands_map and (visible or url:get_visible())
      if shown then
        alts = alts or anchor_alts(task)
        shown = shown_text(url, shown, alts)
      end
      links[n] = { url:get_raw(), url:get_host() or '', shown or nil }
    end
  end
  return { links = links, urls = urls }
end

-- walk_links(), once per message: both checks use it (kept in the task's cache).
local function view_links(task)
  local walked = task:cache_get('mekiki_links')
  if not walked then
    walked = walk_links(task)
    task:cache_set('mekiki_links', walked)
  end
  return walked.links, walked.urls
end

-- What the engine looks at in a message.
local function message_view(task)
  local view = { links = view_links(task), parts = {}, from = {} }
  local subject = task:get_subject()
  if subject and #subject > 0 then
    view.subject = subject
  end
  for i, part in ipairs(text_parts(task)) do
    if i > settings.max_parts then
      break
    end
    -- One invalid byte makes rspamd re-decode a UTF-8 part as a legacy
    -- charset; the engine looks at the transfer-decoded bytes as well.
    local raw = utf8_declared_but_converted(part) and part:get_content('raw_parsed') or nil
    view.parts[i] = { part:get_content() or '', raw }
  end
  for i, a in ipairs(task:get_from('mime') or {}) do
    if i > 4 then break end
    view.from[i] = { a.name or '', a.addr or '' }
  end
  view.from_header = task:get_header('From')
  if task:get_header('Reply-To') then
    view.reply_to = task:get_reply_sender()
  end
  for _, sym in ipairs(settings.dmarc_fail_symbols) do
    view.dmarc_fail = view.dmarc_fail or task:has_symbol(sym)
  end
  -- a delivery report (multipart/report: a bounce)
  local ct = task:get_header('Content-Type')
  view.report = ct ~= nil and ct:lower():match('^%s*multipart/report') ~= nil
  return view
end

-- The link hosts of a message, for the network checks: { host,
-- registrable, tld, own, address, link }, in the task's cache.
local function message_hosts(task)
  local hosts = task:cache_get('mekiki_hosts')
  if not hosts then
    hosts = current_policy():link_hosts({ links = view_links(task) })
    task:cache_set('mekiki_hosts', hosts)
  end
  return hosts
end

local campaign_lookup -- the campaign memory's read (below)
local campaign_keys, configure_campaign -- its options (below)

local function insert_verdict(task, verdict)
  for _, r in ipairs(verdict) do
    task:insert_result(settings['symbol_' .. r[1]:sub(8):lower()] or r[1], r[2], r[3])
  end
end

-- Once per worker: the brand catalogue is missing (a map file that does not
-- exist, cannot be read or is empty: rspamd then never delivers it).
local missing_logged = false

-- MEKIKI_CHECK: the engine decides; the plugin inserts its verdict.
local function mekiki_check(task)
  if not loaded.brands_map and not missing_logged then
    missing_logged = true
    rspamd_logger.errx(task, '%s: no brand catalogue: brands_map %s is missing, unreadable, ' ..
        'empty or not fetched yet; brand symbols are off, links and lures are still checked',
        N, settings.brands_map)
  end
  local verdict, hosts = current_policy():decide(message_view(task))
  if not task:cache_get('mekiki_hosts') then
    task:cache_set('mekiki_hosts', hosts)
  end
  insert_verdict(task, verdict)
  for _, r in ipairs(verdict) do
    if r[1] == 'MEKIKI_LURE' then -- its ids, for the campaign memory's lure features
      task:cache_set('mekiki_lures', r[3])
    end
  end
end

-- ---- ASN: where the mail comes from and where its links really go ----

local NXDOMAIN = 'no records with this name' -- rspamd's text for rcode 3
local NEGATIVE_TTL = 60 -- seconds a name that does not exist stays cached

-- Resolves one host for slot: A, and AAAA only when A gives no address (a
-- server's IPv6 address sits in the same network as its IPv4 one, and each
-- query costs the worker 10-40 us of system time, so a dual-stack host
-- costs one query and an IPv6-only host, a way round an IPv4-only check,
-- two).  A name that does not exist (NXDOMAIN on A) has no AAAA either;
-- that answer is cached too, for at most a minute.  done() when answered.
local function resolve(task, host, slot, done)
  local resolver, answers = task:get_resolver(), {}
  local function add(name, results, err)
    -- an empty answer (no A record: NODATA) is no address: AAAA next
    for _, r in ipairs(results or {}) do
      answers[#answers + 1] = tostring(r)
    end
    if #answers == 0 and err then
      lua_util.debugm(N, task, 'resolving %s: %s', name, err)
    end
  end
  local function finish(ttl) -- ttl: cache the answer (at most dns_cache_ttl)
    slot.addrs = answers
    if ttl then
      dns_cache:put(host, answers, rspamd_util.get_time(), ttl)
    end
    done()
  end
  local function on_aaaa(_, name, results, err)
    add(name, results, err)
    finish(#answers > 0 and settings.dns_cache_ttl or nil)
  end
  local function on_a(_, name, results, err)
    add(name, results, err)
    if #answers > 0 then
      finish(settings.dns_cache_ttl)
    elseif not results and err == NXDOMAIN then
      finish(NEGATIVE_TTL)
    elseif not resolver:resolve('aaaa', { task = task, name = host, callback = on_aaaa }) then
      on_aaaa(nil, host, nil, 'request not sent')
    end
  end
  if not resolver:resolve('a', { task = task, name = host, callback = on_a }) then
    add(host, nil, 'request not sent')
    finish()
  end
end

-- ---- campaign memory (Redis) ----
--
-- The engine names a message's campaign features (its sending network, the
-- addresses, networks, domains and shapes of its link hosts) and decides
-- what remembered ones mean; this adapter reads their counts from Redis in
-- one MGET before the verdict, and writes the learnable ones (one EVAL)
-- only for a confident detection (learn_symbols and learn_actions), never
-- for a message that only the campaign symbols caught.  A Redis that is
-- down or slow costs one failed request, then none for a while (a backoff
-- of 1 s doubling up to 60 s, reads and writes apart), and at most one log
-- line per log_interval.

local lua_redis = require 'lua_redis'
local redis_params   -- lua_redis's server settings; nil: the memory is off

-- The scripts go with each request (EVAL: under 1 KB, and only for a
-- confident detection or a forget command), not loaded once (EVALSHA):
-- nothing to load at start, nor again after Redis restarts, and no
-- loader retrying against a Redis that is down.
--
-- Keys of a feature: PREFIX..feature; of a message learnt: PREFIX..'m:'..digest,
-- the list of the keys it counted in (for forgetting it).  A key of another
-- type (written by something else) is left alone; a value that is not a
-- count mekiki writes (0 to 1000000) is replaced.  Counts stop at 1000000.
local LEARN_SCRIPT = [[
local ttl, n, list = tonumber(ARGV[1]), 0, {}
local rec = KEYS[#KEYS]
if redis.call('EXISTS', rec) == 1 then return -1 end
for i = 1, #KEYS - 1 do
  local k = KEYS[i]
  local t = redis.call('TYPE', k)['ok']
  if t == 'none' or t == 'string' then
    local v = tonumber(redis.call('GET', k) or '0')
    if not v or v < 0 or v > 1000000 or v ~= math.floor(v) then v = 0 end
    if v < 1000000 then v = v + 1 end
    redis.call('SET', k, string.format('%d', v), 'EX', ttl)
    list[#list + 1] = k
    n = n + 1
  end
end
redis.call('SET', rec, table.concat(list, '\n'), 'EX', ttl)
return n
]]

-- Forget a message learnt before: every key its record lists that starts
-- with the prefix (a record cannot reach other keys) goes down by one, and
-- away at zero.
local FORGET_SCRIPT = [[
local rec = redis.call('GET', KEYS[1])
if not rec then return -1 end
local prefix, n = ARGV[1], 0
for k in string.gmatch(rec, '[^\n]+') do
  if string.sub(k, 1, #prefix) == prefix and redis.call('TYPE', k)['ok'] == 'string' then
    local v = tonumber(redis.call('GET', k))
    if v and v > 1 and v == math.floor(v) then
      redis.call('DECR', k)
    else
      redis.call('DEL', k)
    end
    n = n + 1
  end
end
redis.call('DEL', KEYS[1])
return n
]]

-- Redis trouble, per worker and direction (a full Redis refuses writes and
-- still answers reads): the backoff, and the log lines it allows.
local backoff = { read = { until_ = 0, wait = 0 }, write = { until_ = 0, wait = 0 } }
local trouble_logged_at, trouble_unlogged = -math.huge, 0

local function redis_usable(direction, now)
  return redis_params ~= nil and now >= backoff[direction].until_
end

local function redis_trouble(task, direction, err)
  local now, b = rspamd_util.get_time(), backoff[direction]
  b.wait = math.min(math.max(b.wait * 2, 1), 60)
  b.until_ = now + b.wait
  if now - trouble_logged_at >= settings.campaign.log_interval then
    rspamd_logger.warnx(task, '%s: campaign memory: %s: %s; scanning goes on without it ' ..
        '(next %s in %s s%s)', N, direction == 'read' and 'reading' or 'learning',
        tostring(err), direction, b.wait,
        trouble_unlogged > 0 and string.format('; %d more such errors not logged',
            trouble_unlogged) or '')
    trouble_logged_at, trouble_unlogged = now, 0
  else
    trouble_unlogged = trouble_unlogged + 1
  end
end

local function redis_fine(direction)
  backoff[direction].wait = 0
end

-- After the network verdict: read the features' counts (one MGET) and
-- insert the engine's campaign verdict.  The features stay in the task
-- for the learning step.
campaign_lookup = function(task, input, features)
  if not redis_params or not features or #features == 0 then
    return
  end
  task:cache_set('mekiki_campaign', features)
  if not redis_usable('read', rspamd_util.get_time()) then
    return
  end
  local keys = {}
  for i, f in ipairs(features) do
    keys[i] = settings.campaign.prefix .. f[1]
  end
  local function on_counts(err, data)
    if err or type(data) ~= 'table' then
      redis_trouble(task, 'read', err or 'unexpected reply')
      return
    end
    redis_fine('read')
    local counts = {}
    for i = 1, #keys do
      local v = data[i] -- a missing key is lua_redis's null, not a string
      if type(v) == 'string' or type(v) == 'number' then
        counts[i] = v
      end
    end
    insert_verdict(task, current_policy():campaign(input, counts))
  end
  if not lua_redis.redis_make_request(task, redis_params, nil, false, on_counts, 'MGET',
      keys) then
    redis_trouble(task, 'read', 'request not sent')
  end
end

local function listed(list, value)
  for _, v in ipairs(list) do
    if v == value then
      return true
    end
  end
  return false
end

-- A confident detection: one of learn_symbols (composites included: this
-- runs after them) and rspamd's action one of learn_actions.
local function confident(task)
  local c = settings.campaign
  local hit = #c.learn_symbols == 0
  for _, sym in ipairs(c.learn_symbols) do
    hit = hit or task:has_symbol(sym)
  end
  return hit and (#c.learn_actions == 0 or listed(c.learn_actions, task:get_metric_action()))
end

-- MEKIKI_CAMPAIGN_LEARN (idempotent: after the verdict): remember the
-- learnable features of a confident detection, once per message (its
-- digest), in one request.
-- MEKIKI_CAMPAIGN_CHECK: once the network check has its answers and
-- MEKIKI_CHECK its verdict (rspamd dependencies: the two still run side by
-- side), the features of the addresses, the sender and the lure ids, read
-- in one MGET.
local function campaign_check(task)
  local input = task:cache_get('mekiki_networks')
  if not input then
    return -- no ASN database or map: no addresses
  end
  input.lures = task:cache_get('mekiki_lures')
  campaign_lookup(task, input, current_policy():features(input))
end

local function campaign_learn(task)
  local features = task:cache_get('mekiki_campaign')
  if not features or not redis_usable('write', rspamd_util.get_time()) or
      not confident(task) then
    return
  end
  local keys, prefix = {}, settings.campaign.prefix
  for _, f in ipairs(features) do
    if f[2] then
      keys[#keys + 1] = prefix .. f[1]
    end
  end
  if #keys == 0 then
    return
  end
  keys[#keys + 1] = prefix .. 'm:' .. task:get_digest()
  local args = { LEARN_SCRIPT, tostring(#keys) }
  for _, k in ipairs(keys) do
    args[#args + 1] = k
  end
  args[#args + 1] = tostring(settings.campaign.ttl)
  local function on_learnt(err, n)
    if err then
      redis_trouble(task, 'write', err)
    else
      redis_fine('write')
      lua_util.debugm(N, task, 'campaign memory: learnt %s features', n)
    end
  end
  if not lua_redis.redis_make_request(task, redis_params, nil, true, on_learnt, 'EVAL', args) then
    redis_trouble(task, 'write', 'request not sent')
  end
end

-- POST /plugins/mekiki/forget (the controller; the enable password): the
-- message in the body is forgotten -- what its confident detection added
-- goes down by one.  Replies { success, forgotten = n } (n: the features
-- it had added; -1: nothing learnt from this message).
local function campaign_forget(task, conn)
  task:process_message()
  local key = settings.campaign.prefix .. 'm:' .. task:get_digest()
  local function on_forgotten(err, n)
    if err then
      conn:send_error(503, string.format('campaign memory: %s', tostring(err)))
    else
      conn:send_ucl({ success = true, forgotten = tonumber(n) or -1 })
    end
  end
  if not lua_redis.redis_make_request(task, redis_params, nil, true, on_forgotten, 'EVAL',
      { FORGET_SCRIPT, '1', key, settings.campaign.prefix }) then
    conn:send_error(503, 'campaign memory: request not sent')
  end
end

-- At configuration: the Redis servers; false (logged) when
-- the memory stays off.
local function setup_campaign()
  local c = settings.campaign
  if not c.enabled then
    return false
  end
  local opts = {}
  for k, v in pairs(c) do
    if not campaign_keys[k] then
      opts[k] = v -- rspamd's Redis options
    end
  end
  redis_params = lua_redis.parse_redis_server(N, next(opts) and opts or {})
  if not redis_params then
    rspamd_logger.infox(rspamd_config, '%s: no Redis server configured: the campaign ' ..
        'memory is off', N)
    return false
  end
  return true
end

-- MEKIKI_ASN_CHECK: the networks, the sender's and the link hosts' once
-- resolved, in the engine's order (hosts in weighted TLDs first, never a
-- brand's own), at most max_dns names per message, answers cached per
-- worker not counting.  The engine decides when every answer is in.
local function asn_check(task)
  if not asn_db or not loaded.asn_map then
    lua_util.debugm(N, task, 'ASN database or map not loaded; skipping')
    return
  end
  local input = { addresses = {} }
  local ip = task:get_from_ip()
  if ip and ip:is_valid() and not ip:is_local() then
    input.sender = ip:to_string()
  end
  local hosts = message_hosts(task)
  local _, urls = view_links(task)
  local slots, pending, decided = {}, 1, false -- 1: until every query is sent
  local function done()
    pending = pending - 1
    if pending > 0 or decided then
      return
    end
    decided = true
    for _, slot in ipairs(slots) do
      for _, addr in ipairs(slot.addrs or {}) do
        input.addresses[#input.addresses + 1] = { slot.host, slot.domain, addr }
      end
    end
    local verdict = current_policy():networks(input)
    insert_verdict(task, verdict)
    task:cache_set('mekiki_networks', input) -- for MEKIKI_CAMPAIGN_CHECK
  end
  local now, budget = rspamd_util.get_time(), settings.max_dns
  for _, i in ipairs(hosts.order or {}) do
    local h = hosts[i]
    local url = h.link and urls[h.link]
    local slot = { host = h.host, domain = (h.registrable ~= '' and h.registrable) or
        (url and url:get_tld() or h.host):lower() }
    local cached = not h.address and dns_cache:get(h.host, now)
    if h.address then
      slot.domain, slot.addrs = h.host, { h.host }
    elseif cached then
      slot.addrs = cached -- (empty: a name known not to exist)
    elseif budget <= 0 then
      lua_util.debugm(N, task, 'not resolving %s: %s lookups per message', h.host,
          settings.max_dns)
      slot = nil
    else
      budget, pending = budget - 1, pending + 1
      resolve(task, h.host, slot, done)
    end
    slots[#slots + 1] = slot
  end
  done()
end

-- ---- maps and the ASN database ----

-- A map as rspamd delivers it (a string or rspamd{text}), built by the
-- library.  A map bigger than max_map_bytes (a runaway HTTP map would stall
-- the workers), one that cannot be built, or one that arrives with no
-- valid entry (cut mid-write, overwritten with garbage) while one with
-- entries is loaded does not replace what is loaded: one error line, the
-- previous data answers on.  The first bad lines are logged (the library
-- quotes control bytes and invalid UTF-8 as \xNN), then a count: a garbage
-- file must not flood the log.
local function build_map(option, data)
  local what, path, max = maps[option].what, settings[option], settings.max_map_bytes
  local size = type(data) == 'string' and #data or (data and data:len()) or 0
  local keep = 'keeping the previous one'
  if size > max then
    rspamd_logger.errx(rspamd_config, '%s: the mekiki %s %s is %s bytes, more than ' ..
        'max_map_bytes (%s); %s', N, what, path, size, max, keep)
    return
  end
  local map, errs = maps[option].build(data)
  if not map then
    rspamd_logger.errx(rspamd_config, '%s: cannot build the %s from %s: %s; %s',
        N, what, path, errs, keep)
    return
  end
  local previous = loaded[option] and loaded[option]:count() or 0
  local may_be_empty = maps[option].empty and #errs == 0
  if map:count() == 0 and previous > 0 and not may_be_empty then
    rspamd_logger.errx(rspamd_config, '%s: the %s %s has no valid entry (%s bad lines%s); ' ..
        '%s (%s entries)', N, what, path, #errs, errs[1] and (', first: ' .. errs[1]) or '',
        keep, previous)
    return
  end
  for i, e in ipairs(errs) do
    if i > 10 then
      rspamd_logger.warnx(rspamd_config, '%s: %s %s: %s more bad lines skipped, not listed',
          N, what, path, #errs - 10)
      break
    end
    rspamd_logger.warnx(rspamd_config, '%s: %s %s: %s (line skipped)', N, what, path, e)
  end
  if map:count() == 0 and not may_be_empty then
    rspamd_logger.errx(rspamd_config, '%s: %s %s has no valid entry (%s bad lines); ' ..
        'its symbols are off until it is fixed', N, what, path, #errs)
  else
    rspamd_logger.infox(rspamd_config, '%s: %s loaded: %s entries (%s bad lines)%s',
        N, what, map:count(), #errs,
        maps[option].cached and map:cache_note() ~= '' and
            ('; compiled patterns: ' .. map:cache_note()) or '')
  end
  loaded[option], policy = map, nil
end

-- The ASN database is a binary file, not a map: it is opened at start and
-- reopened when its modification time or size changes.  A missing or broken
-- file is logged once per change; mekiki keeps the database it has.
local asn_db_stamp
local function open_asn_db(cfg)
  local err, st = rspamd_util.stat(settings.asn_db)
  local stamp = st and string.format('%s/%s', st.mtime, st.size) or 'missing'
  if stamp == asn_db_stamp then
    return
  end
  asn_db_stamp = stamp
  local keep = asn_db and 'keeping the one loaded before' or
      'the ASN symbols are off until it is there'
  if not st then
    -- Not an error: the database is optional (scripts/asn_db.sh builds it).
    rspamd_logger.warnx(cfg, '%s: ASN database %s: %s; %s', N, settings.asn_db, err, keep)
    return
  end
  local db, why = mekiki.asn_open(settings.asn_db)
  if not db then
    rspamd_logger.errx(cfg, '%s: cannot open the ASN database: %s; %s', N, why, keep)
    return
  end
  asn_db, policy = db, nil
  rspamd_logger.infox(cfg, '%s: ASN database %s loaded (IPv%s, built %s)', N,
      settings.asn_db, db:ip_version(), os.date('!%Y-%m-%d', db:build_epoch()))
end

-- rspamd hands a callback map nothing when its file is empty or gone (a
-- truncation, the first step of cp over the file): the data loaded before
-- stays, and nothing would say so.  The scanner workers look at the files
-- themselves and log one line per change to such a file while they hold
-- entries from it.
local watched = {}
local function watch_map_file(option)
  local url = settings[option]
  local path = url:match('^file://(/.*)$') or url:match('^/.*$')
  if path then
    watched[#watched + 1] = { path = path, option = option }
  end
  return #watched > 0
end

local function check_map_files()
  for _, w in ipairs(watched) do
    local err, st = rspamd_util.stat(w.path)
    local bad = (not st and tostring(err)) or (st.size == 0 and 'empty file') or nil
    if bad ~= w.bad then
      w.bad = bad
      local n = loaded[w.option] and loaded[w.option]:count() or 0
      if bad and n > 0 then
        rspamd_logger.errx(rspamd_config, '%s: the %s %s: %s; keeping the previous one ' ..
            '(%s entries)', N, maps[w.option].what, w.path, bad, n)
      end
    end
  end
end

-- ---- the options ----

-- campaign { }: its own options, and rspamd's Redis options (lua_redis);
-- anything else is a typo, refused like the module's unknown options.
campaign_keys = { enabled = true, prefix = true, ttl = true, learn_symbols = true,
                  learn_actions = true, log_interval = true }
local REDIS_KEYS = { servers = true, server = true, read_servers = true, write_servers = true,
                     timeout = true, db = true, database = true, dbname = true,
                     password = true, username = true, redis = true, sentinels = true,
                     sentinel_watch_time = true, sentinel_masters_pattern = true }

-- A list option given as one string ("reject") or a list.
local function as_list(v)
  if type(v) == 'string' then
    return { v }
  end
  return type(v) == 'table' and v or {}
end

configure_campaign = function()
  local c = settings.campaign
  if type(c) ~= 'table' then
    rspamd_logger.errx(rspamd_config, '%s: option campaign must be a section { ... }; ' ..
        'the module is off', N)
    return false
  end
  for k in pairs(c) do
    if not campaign_keys[k] and not REDIS_KEYS[k] then
      rspamd_logger.errx(rspamd_config, '%s: unknown option campaign.%s', N, k)
    end
  end
  local function bad(k, what)
    rspamd_logger.errx(rspamd_config, '%s: option campaign.%s must be %s, got %s; the ' ..
        'module is off', N, k, what, tostring(c[k]))
    return false
  end
  for _, k in ipairs({ 'ttl', 'log_interval' }) do
    local v = c[k]
    if type(v) == 'string' then
      v = lua_util.parse_time_interval(v)
    end
    v = tonumber(v)
    if not v or v < 1 or v > 31536000 then
      return bad(k, 'a time from 1 s to 1 year (604800, "7d")')
    end
    c[k] = math.floor(v)
  end
  if type(c.prefix) ~= 'string' or not c.prefix:match('^[%w_.:-]+$') or #c.prefix > 64 then
    return bad('prefix', 'letters, digits and _.:- (at most 64)')
  end
  c.learn_symbols, c.learn_actions = as_list(c.learn_symbols), as_list(c.learn_actions)
  if #c.learn_symbols == 0 and #c.learn_actions == 0 then
    return bad('learn_symbols', 'given (with learn_actions empty every message would be learnt)')
  end
  c.enabled = c.enabled ~= false
  return true
end

-- The settings from the module's options, or nil (logged: the module is
-- then off).  Unknown keys are errors (rspamadm configtest -s fails on
-- them): a typo in local.d/mekiki.conf should not pass silently.
local function configure(opts)
  for k in pairs(opts) do
    if settings[k] == nil and k ~= 'enabled' and not maps[k] and k ~= 'asn_db' then
      rspamd_logger.errx(rspamd_config, '%s: unknown option %s', N, k)
    end
  end
  settings = lua_util.override_defaults(settings, opts)
  for _, k in ipairs(counts) do
    local v, min = tonumber(settings[k]), k == 'max_dns' and 0 or 1
    if not v or v < min or v ~= math.floor(v) then
      rspamd_logger.errx(rspamd_config, '%s: option %s must be %s, got %s; the module is off',
          N, k, min == 0 and 'a whole number (0 or more)' or 'a positive integer', settings[k])
      return nil
    end
    settings[k] = v
  end
  -- The engine's own limits on the bounds (max_options at most 256, ...)
  -- and the cache's (at most a million entries).
  local ok, why = pcall(function()
    mekiki.policy(nil, nil, nil, bounds())
    dns_cache = mekiki.lru(settings.dns_cache_size, settings.dns_cache_ttl)
  end)
  if not ok then
    rspamd_logger.errx(rspamd_config, '%s: %s; the module is off', N, why)
    return nil
  end
  if not configure_campaign() then
    return nil
  end
  for _, k in ipairs({ 'brands_map', 'tld_map', 'hosting_map', 'labels_map', 'lures_map',
                       'asn_map', 'asn_db' }) do
    if type(settings[k]) ~= 'string' or settings[k] == '' then
      settings[k] = nil -- an optional map not given
    end
  end
  if not settings.brands_map then
    rspamd_logger.errx(rspamd_config, '%s: option brands_map (path or URL of the brand map) ' ..
        'is required', N)
    return nil
  end
  return settings
end

return {
  configure = configure,
  maps = maps,
  build_map = build_map,
  watch_map_file = watch_map_file,
  check_map_files = check_map_files,
  open_asn_db = open_asn_db,
  mekiki_check = mekiki_check,
  asn_check = asn_check,
  setup_campaign = setup_campaign,
  campaign_check = campaign_check,
  campaign_learn = campaign_learn,
  campaign_forget = campaign_forget,
}
