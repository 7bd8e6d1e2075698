-- mekiki -- brand-impersonation phishing detection for rspamd: registration.
--
-- This file registers; the logic is the Lua module mekiki.rspamd
-- (mekiki/rspamd.lua on package.path) and every decision is made by the
-- native module mekiki (mekiki.so on package.cpath), libmekiki's policy
-- engine.  rspamd runs it when a `mekiki` section exists (modules.d/mekiki.conf).
--
-- The symbols, their scores, descriptions and composites are defined once in
-- rules.d/mekiki_symbols.tsv, from which the build writes
-- modules.d/mekiki_group.conf and mekiki_composites.conf (override in
-- local.d/mekiki_group.conf); options are in modules.d/mekiki.conf (override
-- in local.d/mekiki.conf).  What each symbol means: README, "What it detects".

if confighelp then
  return
end

local N = 'mekiki'
local rspamd_logger = require 'rspamd_logger'
local lua_util = require 'lua_util'

local ok, mekiki = pcall(require, 'mekiki.rspamd')
if not ok then
  rspamd_logger.errx(rspamd_config, '%s: cannot load the module: %s; are mekiki/rspamd.lua ' ..
      'on package.path (/usr/local/share/lua/5.1) and mekiki.so on package.cpath ' ..
      '(/usr/local/lib/lua/5.1)?', N, mekiki)
  lua_util.disable_module(N, 'fail')
  return
end

local opts = rspamd_config:get_all_opt(N)
local settings = opts and mekiki.configure(opts)
if not settings then
  lua_util.disable_module(N, 'config')
  return
end

-- Each scanner worker runs f every interval seconds.
local function every(interval, f)
  rspamd_config:add_on_load(function(cfg, ev_base, worker)
    if worker:is_scanner() then
      rspamd_config:add_periodic(ev_base, interval, function()
        f(cfg)
        return true
      end, true)
    end
  end)
end

-- A map through rspamd's map machinery (files reload on change, HTTP maps
-- work), built by the module; files are watched as well.
local watching = false
local function add_map(option)
  local what = mekiki.maps[option].what
  if not rspamd_config:add_map({
    type = 'callback',
    url = settings[option],
    description = 'mekiki ' .. what,
    callback = function(data) mekiki.build_map(option, data) end,
  }) then
    rspamd_logger.errx(rspamd_config, '%s: cannot add the mekiki %s %s (option %s)', N, what,
        settings[option], option)
    return false
  end
  watching = mekiki.watch_map_file(option)
  return true
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

if not add_map('brands_map') then
  lua_util.disable_module(N, 'config')
  return
end
for _, option in ipairs({ 'tld_map', 'hosting_map', 'labels_map', 'lures_map' }) do
  if settings[option] then
    add_map(option)
  end
end

local campaign_on = false
if settings.asn_db and settings.asn_map then
  mekiki.open_asn_db(rspamd_config)
  add_map('asn_map')
  every(settings.asn_db_check_interval, mekiki.open_asn_db)
  register_check(settings.symbol_asn_check, mekiki.asn_check,
      { settings.symbol_sender_asn, settings.symbol_url_asn, settings.symbol_url_shared_ip })
  -- The campaign memory (Redis) reads once the networks' answers and the
  -- verdict's lure ids are in (dependencies below).
  campaign_on = mekiki.setup_campaign()
  if campaign_on then
    register_check(settings.symbol_campaign_check, mekiki.campaign_check,
        { settings.symbol_campaign_address, settings.symbol_campaign_domain,
          settings.symbol_campaign_network, settings.symbol_campaign_shape,
          settings.symbol_campaign_lure, settings.symbol_campaign_sender })
    -- learning runs once the verdict, composites and action are known
    rspamd_config:register_symbol({
      name = settings.symbol_campaign_learn,
      type = 'idempotent',
      callback = mekiki.campaign_learn,
      group = 'mekiki',
    })
    -- POST /plugins/mekiki/forget on the controller (the enable password)
    rspamd_plugins[N] = rspamd_plugins[N] or {}
    rspamd_plugins[N].webui = { forget = { handler = mekiki.campaign_forget, enable = true,
                                           need_task = true } }
  end
end

-- The map files are looked at every map_watch_interval (rspamd's option;
-- 60 s when unset).
if watching then
  local interval = (rspamd_config:get_all_opt('options') or {}).map_watch_interval
  if type(interval) == 'string' then
    interval = lua_util.parse_time_interval(interval)
  end
  interval = tonumber(interval)
  every((interval and interval > 0) and interval or 60, mekiki.check_map_files)
end

register_check(settings.symbol_check, mekiki.mekiki_check,
    { settings.symbol_brand_confusable, settings.symbol_from_confusable,
      settings.symbol_brand_confusable_weak, settings.symbol_invisible_in_word,
      settings.symbol_url_tld, settings.symbol_url_free_hosting,
      settings.symbol_url_random_label, settings.symbol_from_tld,
      settings.symbol_url_lookalike, settings.symbol_brand_url_mismatch,
      settings.symbol_lure, settings.symbol_from_brand_spoof, settings.symbol_subject_brand,
      settings.symbol_body_brand, settings.symbol_brand_replyto_mismatch })

-- Run after DMARC, whose verdict on the From domain the spoof check reads.
rspamd_config:register_dependency(settings.symbol_check, 'DMARC_CHECK')
-- The campaign memory reads the network check's answers and MEKIKI_CHECK's
-- lure ids; the two checks themselves run side by side.
if campaign_on then
  rspamd_config:register_dependency(settings.symbol_campaign_check, settings.symbol_asn_check)
  rspamd_config:register_dependency(settings.symbol_campaign_check, settings.symbol_check)
end
