--[[
mekiki -- brand-impersonation phishing detection for rspamd.

An adapter: every decision is made by the native module `mekiki`
(libmekiki's policy engine, the same one SpamAssassin's plugin and the
`mekiki policy` command use).  This plugin reads its options and maps the
rspamd way (maps reload without a restart), builds each message's view
(subject, text parts, From names and addresses, Reply-To, DMARC and
delivery-report facts, links with their shown text), hands it to the engine
in one call and inserts the verdict; then it resolves the link hosts the
engine names, with rspamd's own asynchronous resolver (A, AAAA when A has no
address; at most max_dns names per message, answers cached per worker), and
inserts the engine's network verdict (MEKIKI_SENDER_ASN, MEKIKI_URL_ASN,
MEKIKI_URL_SHARED_IP).

The symbols, their scores, descriptions and composites are defined once in
rules.d/mekiki_symbols.tsv, from which the build writes
modules.d/mekiki_group.conf and mekiki_composites.conf (override in
local.d/mekiki_group.conf); options are in modules.d/mekiki.conf (override
in local.d/mekiki.conf).  What each symbol means: README, "What it detects".
]]--

if confighelp then
  return
end

local N = 'mekiki'
local rspamd_logger = require 'rspamd_logger'
local lua_util = require 'lua_util'
local rspamd_util = require 'rspamd_util'

local ok, mekiki = pcall(require, 'mekiki')
if not ok then
  rspamd_logger.errx(rspamd_config, '%s: cannot load the native module: %s; ' ..
      'is mekiki.so on package.cpath (/usr/local/lib/lua/5.1)?', N, mekiki)
  lua_util.disable_module(N, 'fail')
  return
end

local settings = {
  brands_map = nil,          -- required: URL or path of the brand catalogue
  tld_map = nil,             -- URL or path of the TLD weights (optional)
  lures_map = nil,           -- URL or path of the lure phrases (optional)
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
  symbol_url_lookalike = 'MEKIKI_URL_LOOKALIKE',
  symbol_lure = 'MEKIKI_LURE',
  symbol_brand_url_mismatch = 'MEKIKI_BRAND_URL_MISMATCH',
  symbol_from_tld = 'MEKIKI_FROM_TLD',
  symbol_subject_brand = 'MEKIKI_SUBJECT_BRAND',
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
  -- rspamd symbols meaning that the From domain failed DMARC
  dmarc_fail_symbols = { 'DMARC_POLICY_REJECT', 'DMARC_POLICY_QUARANTINE',
                         'DMARC_POLICY_SOFTFAIL' },
}

local positive_ints = { 'max_text_bytes', 'max_parts', 'max_hits', 'max_options', 'max_urls',
                        'max_map_bytes',
                        'max_dns', 'dns_cache_size', 'dns_cache_ttl', 'shared_ip_min_domains',
                        'asn_db_check_interval' }
-- Options for which 0 is meaningful: max_dns = 0 resolves no link host (only
-- IP-literal links and the sender's address are looked up in the database).
local zero_allowed = { max_dns = true }

local catalogue -- built from the brand map; nil until the map has loaded
local tld_weights -- suffix -> weight, from the TLD map; nil until loaded
local lures -- a catalogue of lure phrases; nil until loaded
local asn_db -- the open MaxMind DB; nil when absent or unreadable
local asn_weights -- the ASN map; nil until loaded

-- The policy the native module decides with, over the maps loaded now:
-- rebuilt when one of them reloads.  (The options' bounds were checked at
-- configuration time, by building one.)
local policy, policy_maps
local function bounds()
  return { max_text_bytes = settings.max_text_bytes, max_parts = settings.max_parts,
           max_hits = settings.max_hits, max_options = settings.max_options,
           max_urls = settings.max_urls, shared_ip_min_domains = settings.shared_ip_min_domains }
end

local function current_policy()
  if not policy or policy_maps[1] ~= catalogue or policy_maps[2] ~= lures or
      policy_maps[3] ~= tld_weights or policy_maps[4] ~= asn_db or policy_maps[5] ~= asn_weights then
    policy = mekiki.policy(catalogue, lures, tld_weights, bounds(), asn_db, asn_weights)
    policy_maps = { catalogue, lures, tld_weights, asn_db, asn_weights }
  end
  return policy
end

local function is_utf8_name(charset)
  charset = charset and charset:lower():gsub('[^%w]', '')
  return charset == 'utf8'
end

-- Declared UTF-8 (or nothing) but decoded by rspamd from another charset.
local function utf8_declared_but_converted(part)
  local charset = part:get_charset()
  if charset == 'UTF-8' or is_utf8_name(charset) then
    return false
  end
  local _, _, attrs = part:get_mimepart():get_type_full()
  local declared = attrs and attrs.charset
  return declared == nil or is_utf8_name(declared)
end

local function dmarc_failed(task)
  for _, sym in ipairs(settings.dmarc_fail_symbols) do
    if task:has_symbol(sym) then
      return true
    end
  end
  return false
end

-- A delivery report (multipart/report: a bounce).
local function delivery_report(task)
  local ct = task:get_header('Content-Type')
  return ct and ct:lower():match('^%s*multipart/report') ~= nil
end

-- The alt texts of the images inside HTML anchors, by the anchor's URL
-- (tostring): rspamd writes an image's alt text into the text of the anchor
-- around it, and an image is no text.
local function anchor_alts(task)
  local alts, n = {}, 0
  for _, part in ipairs(task:get_text_parts() or {}) do
    local html = part:is_html() and part:get_html()
    for _, img in ipairs(html and html:get_images() or {}) do
      n = n + 1
      if n > settings.max_urls then
        return alts
      end
      local tag = img.tag
      local alt = tag and tag:get_attribute('alt')
      if alt and #alt > 0 then
        local a, depth = tag:get_parent(), 0
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

-- The text an HTML anchor shows for a link, without its images' alt texts:
-- rspamd 3.4 sets url:get_visible() only from its HTML parser (nil for a
-- URL found in plain text).
local function shown_text(url, alts)
  local visible = url.get_visible and url:get_visible()
  if not visible or #visible == 0 then
    return nil
  end
  visible = tostring(visible)
  for _, alt in ipairs(alts[tostring(url)] or {}) do
    local i = visible:find(alt, 1, true)
    if i then
      visible = visible:sub(1, i - 1) .. ' ' .. visible:sub(i + #alt)
    end
  end
  return visible
end

-- URLs rspamd lists that the message does not link to: the URL it reads in
-- an anchor's text (html_displayed: that text is the anchor's shown text,
-- the anchor's href its link) and a URL inside another URL's query (query:
-- the engine follows only a brand's own redirectors).
local function not_a_link(url)
  local flags = url.get_flags and url:get_flags()
  return flags ~= nil and (flags.html_displayed or flags.query) ~= nil
end

-- The links of a message as the engine takes them: { url, host, shown },
-- and the rspamd URLs in the same order.
local function view_links(task, with_shown)
  local links, urls, n = {}, {}, 0
  local alts = with_shown and catalogue and anchor_alts(task)
  for _, url in ipairs(task:get_urls() or {}) do
    if not not_a_link(url) then
      if n >= settings.max_urls then
        lua_util.debugm(N, task, 'skipping links after the %s-th', settings.max_urls)
        break
      end
      n = n + 1
      urls[n] = url
      links[n] = { url.get_raw and url:get_raw() or tostring(url), url:get_host() or '',
                   alts and shown_text(url, alts) or nil }
    end
  end
  return links, urls
end

-- What the engine looks at in a message.
local function message_view(task)
  local links, urls = view_links(task, true)
  local view = { links = links, parts = {}, from = {} }
  local subject = task:get_subject()
  if subject and #subject > 0 then
    view.subject = subject
  end
  for i, part in ipairs(task:get_text_parts() or {}) do
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
  view.dmarc_fail = dmarc_failed(task)
  view.report = delivery_report(task)
  return view, urls
end

-- The link hosts of a message, for the network checks (kept in the task's
-- cache): { host, registrable, tld, own, url = its first rspamd URL }.
local LINKS_KEY = 'mekiki_links'
local function remember_hosts(task, hosts, urls)
  for _, h in ipairs(hosts) do
    h.url = h.link and urls[h.link]
  end
  task:cache_set(LINKS_KEY, hosts)
  return hosts
end

local function message_hosts(task)
  local hosts = task:cache_get(LINKS_KEY)
  if hosts then
    return hosts
  end
  local links, urls = view_links(task, false)
  return remember_hosts(task, current_policy():link_hosts({ links = links }), urls)
end

-- Once per worker: the brand catalogue is missing (a map file that does not
-- exist, cannot be read or is empty: rspamd then never delivers it).
local missing_logged = false

-- The engine decides; the plugin inserts its verdict.
local function mekiki_check(task)
  if not catalogue and not missing_logged then
    missing_logged = true
    rspamd_logger.errx(task, '%s: no brand catalogue: brands_map %s is missing, unreadable, ' ..
        'empty or not fetched yet; brand symbols are off, links and lures are still checked',
        N, settings.brands_map)
  end
  local view, urls = message_view(task)
  local verdict, hosts = current_policy():decide(view)
  if not task:cache_get(LINKS_KEY) then
    remember_hosts(task, hosts, urls)
  end
  for _, r in ipairs(verdict) do
    local sym = settings['symbol_' .. r[1]:sub(8):lower()] or r[1]
    task:insert_result(sym, r[2], r[3])
  end
end

-- ---- ASN: where the mail comes from and where its links really go ----

-- A bounded LRU cache with expiry: host -> list of addresses.  Hostile mail
-- cannot make it grow past dns_cache_size entries.
local function new_lru(size, ttl)
  local head = {} -- sentinel of a doubly linked list, most recent first
  head.next, head.prev = head, head
  local index, count = {}, 0
  local function unlink(e)
    e.prev.next, e.next.prev = e.next, e.prev
  end
  local function push(e)
    e.next, e.prev = head.next, head
    head.next.prev = e
    head.next = e
  end
  local lru = {}
  function lru.get(key, now)
    local e = index[key]
    if not e then
      return nil
    end
    if e.expires < now then
      unlink(e)
      index[key] = nil
      count = count - 1
      return nil
    end
    unlink(e)
    push(e)
    return e.value
  end
  function lru.put(key, value, now, entry_ttl)
    local e = index[key]
    if e then
      unlink(e)
    else
      if count >= size then
        local old = head.prev
        unlink(old)
        index[old.key] = nil
        count = count - 1
      end
      e = { key = key }
      index[key] = e
      count = count + 1
    end
    e.value, e.expires = value, now + math.min(entry_ttl or ttl, ttl)
    push(e)
  end
  function lru.count()
    return count
  end
  return lru
end

local dns_cache -- created once the settings are known
local NXDOMAIN = 'no records with this name' -- rspamd's text for rcode 3
local NEGATIVE_TTL = 60 -- seconds a name that does not exist stays cached

-- The networks: the sender's, and the link hosts' once resolved -- with
-- rspamd's own resolver, in the engine's order (hosts in weighted TLDs
-- first, never a brand's own), at most max_dns names per message, answers
-- cached per worker not counting.  A, and AAAA only when A gives no
-- address: a server's IPv6 address sits in the same network as its IPv4
-- one, and each query costs the worker 10-40 us of system time, so a
-- dual-stack host costs one query and an IPv6-only host (a way round an
-- IPv4-only check) two.  A name that does not exist (NXDOMAIN on A) has no
-- AAAA either; that answer is cached too, for at most a minute.  The
-- engine decides when every answer is in.
local function asn_check(task)
  if not asn_db or not asn_weights then
    lua_util.debugm(N, task, 'ASN database or map not loaded; skipping')
    return
  end
  local input = { addresses = {} }
  local ip = task:get_from_ip()
  if ip and ip:is_valid() and not ip:is_local() then
    input.sender = ip:to_string()
  end
  local hosts = message_hosts(task)
  local slots, pending, decided, looping = {}, 0, false, true
  local function finish()
    if pending > 0 or decided or looping then
      return
    end
    decided = true
    for _, slot in ipairs(slots) do
      for _, addr in ipairs(slot.addrs or {}) do
        input.addresses[#input.addresses + 1] = { slot.host, slot.domain, addr }
      end
    end
    for _, r in ipairs(current_policy():networks(input)) do
      task:insert_result(settings['symbol_' .. r[1]:sub(8):lower()] or r[1], r[2], r[3])
    end
  end
  local now, budget = rspamd_util.get_time(), settings.max_dns
  local resolver = task:get_resolver()
  for _, i in ipairs(hosts.order or {}) do
    local h = hosts[i]
    local slot = { host = h.host, domain = (h.registrable ~= '' and h.registrable) or
        (h.url and h.url:get_tld() or h.host):lower() }
    local cached = not h.address and dns_cache.get(h.host, now)
    if h.address then
      slot.domain, slot.addrs = h.host, { h.host }
    elseif cached then
      slot.addrs = cached -- (empty: a name known not to exist)
    elseif budget <= 0 then
      lua_util.debugm(N, task, 'not resolving %s: %s lookups per message', h.host,
          settings.max_dns)
      slot = nil
    else
      budget = budget - 1
      local answers, any, nxdomain = {}, false, false
      local function add(name, results, err)
        if results and #results > 0 then
          -- an empty answer (no A record: NODATA) is no address: AAAA next
          any = true
          for _, r in ipairs(results) do
            answers[#answers + 1] = tostring(r)
          end
        elseif err then
          lua_util.debugm(N, task, 'resolving %s: %s', name, err)
        end
      end
      local function done()
        slot.addrs = answers
        if any then
          dns_cache.put(h.host, answers, rspamd_util.get_time())
        elseif nxdomain then
          dns_cache.put(h.host, answers, rspamd_util.get_time(), NEGATIVE_TTL)
        end
        pending = pending - 1
        finish()
      end
      local function on_aaaa(_, name, results, err)
        add(name, results, err)
        done()
      end
      local function on_a(_, name, results, err)
        add(name, results, err)
        if any then
          done()
        elseif not results and err == NXDOMAIN then
          nxdomain = true
          done()
        elseif not resolver:resolve('aaaa', { task = task, name = h.host, callback = on_aaaa }) then
          on_aaaa(nil, h.host, nil, 'request not sent')
        end
      end
      pending = pending + 1
      if not resolver:resolve('a', { task = task, name = h.host, callback = on_a }) then
        add(h.host, nil, 'request not sent')
        done()
      end
    end
    slots[#slots + 1] = slot
  end
  looping = false
  finish()
end

-- Bad map lines logged one by one, at most.
local max_logged_errors = 10

-- A catalogue from a map in the brand-map format; nil (logged) if it fails.
-- The first bad lines of a map (the library quotes control bytes and
-- invalid UTF-8 as \xNN), then a count: a garbage file must not flood the log.
local function log_bad_lines(what, path, errs)
  for i, e in ipairs(errs) do
    if i > max_logged_errors then
      rspamd_logger.warnx(rspamd_config, '%s: %s %s: %s more bad lines skipped, not listed',
          N, what, path, #errs - max_logged_errors)
      break
    end
    rspamd_logger.warnx(rspamd_config, '%s: %s %s: %s (line skipped)', N, what, path, e)
  end
end

-- A map that arrives with no valid entry (cut mid-write, overwritten with
-- garbage, only its header left) while one with entries is loaded does not
-- replace it: one error line (the first bad line quoted), the previous data
-- answers on.  At the first load there is nothing to keep: the caller's own
-- message says the symbols are off.
local function keep_previous(what, path, errs, previous)
  if previous > 0 then
    rspamd_logger.errx(rspamd_config, '%s: the %s %s has no valid entry (%s bad lines%s); ' ..
        'keeping the previous one (%s entries)', N, what, path, #errs,
        errs[1] and (', first: ' .. errs[1]) or '', previous)
    return true
  end
  return false
end

local function build_catalogue(data, what, path, previous)
  local cat, errs = mekiki.catalogue(data)
  if not cat then
    rspamd_logger.errx(rspamd_config, '%s: cannot build the %s from %s: %s; ' ..
        'keeping the previous one', N, what, path, errs)
    return nil
  end
  if cat:brand_count() == 0 and
      keep_previous(what, path, errs, previous and previous:brand_count() or 0) then
    return nil
  end
  log_bad_lines(what, path, errs)
  if cat:brand_count() == 0 then
    rspamd_logger.errx(rspamd_config, '%s: %s %s has no valid entry (%s bad lines); ' ..
        'its symbols are off until it is fixed', N, what, path, #errs)
  else
    rspamd_logger.infox(rspamd_config, '%s: %s loaded: %s entries, %s names',
        N, what, cat:brand_count(), cat:name_count())
  end
  return cat
end

local function load_catalogue(data)
  catalogue = build_catalogue(data, 'brand catalogue', settings.brands_map, catalogue) or catalogue
end

local function load_lures(data)
  lures = build_catalogue(data, 'lure phrases', settings.lures_map, lures) or lures
end

-- "suffix weight" lines, parsed by the library (a bad line is listed with its
-- number, control and non-ASCII bytes quoted as \xNN, and skipped).
local tld_count = 0 -- entries of tld_weights
local function load_tld_weights(data)
  local map, errs = mekiki.tld_map(data)
  if not map then
    rspamd_logger.errx(rspamd_config, '%s: cannot build the TLD map from %s: %s; ' ..
        'keeping the previous one', N, settings.tld_map, errs)
    return
  end
  if map:count() == 0 and keep_previous('TLD map', settings.tld_map, errs, tld_count) then
    return
  end
  log_bad_lines('TLD map', settings.tld_map, errs)
  tld_weights, tld_count = map, map:count()
  rspamd_logger.infox(rspamd_config, '%s: TLD map loaded: %s entries (%s bad lines)',
      N, tld_count, #errs)
end

local function load_asn_weights(data)
  local map, errs = mekiki.asn_map(data)
  if not map then
    rspamd_logger.errx(rspamd_config, '%s: cannot build the ASN map from %s: %s; ' ..
        'keeping the previous one', N, settings.asn_map, errs)
    return
  end
  if map:count() == 0 and
      keep_previous('ASN map', settings.asn_map, errs, asn_weights and asn_weights:count() or 0) then
    return
  end
  log_bad_lines('ASN map', settings.asn_map, errs)
  rspamd_logger.infox(rspamd_config, '%s: ASN map loaded: %s networks', N, map:count())
  asn_weights = map
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
  asn_db = db
  rspamd_logger.infox(cfg, '%s: ASN database %s loaded (IPv%s, built %s)', N,
      settings.asn_db, db:ip_version(), os.date('!%Y-%m-%d', db:build_epoch()))
end

-- Configuration
local opts = rspamd_config:get_all_opt(N)
if not opts then
  lua_util.disable_module(N, 'config')
  return
end
-- Unknown keys are errors (rspamadm configtest -s fails on them): a typo
-- in local.d/mekiki.conf should not pass silently.
local known = { enabled = true, brands_map = true, tld_map = true, lures_map = true,
                asn_db = true, asn_map = true }
for k in pairs(settings) do
  known[k] = true
end
for k in pairs(opts) do
  if not known[k] then
    rspamd_logger.errx(rspamd_config, '%s: unknown option %s', N, k)
  end
end
settings = lua_util.override_defaults(settings, opts)

for _, k in ipairs(positive_ints) do
  local v = tonumber(settings[k])
  local min = zero_allowed[k] and 0 or 1
  if not v or v < min or v ~= math.floor(v) then
    rspamd_logger.errx(rspamd_config, '%s: option %s must be %s, got %s; the module is off',
        N, k, min == 0 and 'a whole number (0 or more)' or 'a positive integer', settings[k])
    lua_util.disable_module(N, 'config')
    return
  end
  settings[k] = v
end

-- The engine's own limits on the bounds (max_options at most 256, ...).
do
  local ok_bounds, why = pcall(mekiki.policy, nil, nil, nil, bounds())
  if not ok_bounds then
    rspamd_logger.errx(rspamd_config, '%s: %s; the module is off', N, why)
    lua_util.disable_module(N, 'config')
    return
  end
end

if type(settings.brands_map) ~= 'string' or settings.brands_map == '' then
  rspamd_logger.errx(rspamd_config, '%s: option brands_map (path or URL of the brand map) ' ..
      'is required', N)
  lua_util.disable_module(N, 'config')
  return
end

-- A map read through rspamd's map machinery (files reload on change, HTTP
-- maps work); callback receives the whole text.
local function add_text_map(option, description, callback)
  local ok = rspamd_config:add_map({
    type = 'callback',
    url = settings[option],
    description = description,
    callback = function(data)
      -- Compiling a runaway map would stall the workers: refuse it and keep
      -- what was loaded before.
      local size = type(data) == 'string' and #data or (data and data:len()) or 0
      if size > settings.max_map_bytes then
        rspamd_logger.errx(rspamd_config, '%s: the %s %s is %s bytes, more than ' ..
            'max_map_bytes (%s); keeping the previous one', N, description,
            settings[option], size, settings.max_map_bytes)
        return
      end
      callback(data)
    end,
  })
  if not ok then
    rspamd_logger.errx(rspamd_config, '%s: cannot add the %s %s (option %s)', N, description,
        settings[option], option)
  end
  return ok
end

-- rspamd hands a callback map nothing when its file is empty or gone (a
-- truncation, the first step of cp over the file): the data loaded before
-- stays, and nothing would say so.  The scanner workers look at the files
-- themselves, every map_watch_interval (rspamd's option; 60 s when unset),
-- and log one line per change to such a file while they hold entries from it.
local watched_maps = {}
local function watch_map_file(option, what, entries)
  local url = settings[option]
  local path = type(url) == 'string' and (url:match('^file://(/.*)$') or url:match('^/.*$'))
  if path then
    watched_maps[#watched_maps + 1] = { path = path, what = what, entries = entries }
  end
end

local function check_map_files()
  for _, w in ipairs(watched_maps) do
    local err, st = rspamd_util.stat(w.path)
    local bad = (not st and tostring(err)) or (st.size == 0 and 'empty file') or nil
    if bad ~= w.bad then
      w.bad = bad
      local n = w.entries()
      if bad and n > 0 then
        rspamd_logger.errx(rspamd_config, '%s: the %s %s: %s; keeping the previous one ' ..
            '(%s entries)', N, w.what, w.path, bad, n)
      end
    end
  end
end

local function map_watch_interval()
  local v = (rspamd_config:get_all_opt('options') or {}).map_watch_interval
  if type(v) == 'string' then
    v = lua_util.parse_time_interval(v)
  end
  v = tonumber(v)
  return (v and v > 0) and v or 60
end

if not add_text_map('brands_map', 'mekiki brand catalogue', load_catalogue) then
  lua_util.disable_module(N, 'config')
  return
end

watch_map_file('brands_map', 'brand catalogue', function()
  return catalogue and catalogue:brand_count() or 0
end)

if settings.tld_map and settings.tld_map ~= '' then
  add_text_map('tld_map', 'mekiki TLD weights', load_tld_weights)
  watch_map_file('tld_map', 'TLD map', function() return tld_count end)
end

if settings.lures_map and settings.lures_map ~= '' then
  add_text_map('lures_map', 'mekiki lure phrases', load_lures)
  watch_map_file('lures_map', 'lure phrases', function()
    return lures and lures:brand_count() or 0
  end)
end

-- A callback symbol and the virtual symbols it inserts, in the mekiki group.
local function register_check(name, callback, children)
  local id = rspamd_config:register_symbol({
    name = name,
    type = 'callback',
    callback = callback,
    group = 'mekiki',
  })
  for _, sym in ipairs(children) do
    rspamd_config:register_symbol({
      name = sym,
      type = 'virtual',
      parent = id,
      group = 'mekiki',
    })
  end
end

if settings.asn_db and settings.asn_db ~= '' and settings.asn_map and settings.asn_map ~= '' then
  dns_cache = new_lru(settings.dns_cache_size, settings.dns_cache_ttl)
  open_asn_db(rspamd_config)
  add_text_map('asn_map', 'mekiki ASN weights', load_asn_weights)
  watch_map_file('asn_map', 'ASN map', function()
    return asn_weights and asn_weights:count() or 0
  end)
  rspamd_config:add_on_load(function(cfg, ev_base, worker)
    if worker:is_scanner() then
      rspamd_config:add_periodic(ev_base, settings.asn_db_check_interval, function()
        open_asn_db(cfg)
        return true
      end, true)
    end
  end)
  register_check(settings.symbol_asn_check, asn_check,
      { settings.symbol_sender_asn, settings.symbol_url_asn, settings.symbol_url_shared_ip })
end

if #watched_maps > 0 then
  local interval = map_watch_interval()
  rspamd_config:add_on_load(function(_, ev_base, worker)
    if worker:is_scanner() then
      rspamd_config:add_periodic(ev_base, interval, function()
        check_map_files()
        return true
      end, true)
    end
  end)
end

register_check(settings.symbol_check, mekiki_check,
    { settings.symbol_brand_confusable, settings.symbol_from_confusable,
      settings.symbol_brand_confusable_weak, settings.symbol_invisible_in_word,
      settings.symbol_url_tld, settings.symbol_from_tld,
      settings.symbol_url_lookalike, settings.symbol_brand_url_mismatch,
      settings.symbol_lure, settings.symbol_from_brand_spoof, settings.symbol_subject_brand,
      settings.symbol_brand_replyto_mismatch })

-- Run after DMARC, whose verdict on the From domain the spoof check reads.
rspamd_config:register_dependency(settings.symbol_check, 'DMARC_CHECK')
