-- test_catalogue.lua -- tests of the shipped brand catalogue (rules.d/mekiki_brands.map).
--
-- Runs under LuaJIT and Lua 5.4:
--     LUA_CPATH='build/lua51/?.so' luajit  tests/lua/test_catalogue.lua rules.d/mekiki_brands.map
--     LUA_CPATH='build/lua54/?.so' lua5.4  tests/lua/test_catalogue.lua rules.d/mekiki_brands.map
-- Stops with a non-zero exit status at the first failure.
--
-- What it guards: the map loads without errors and is large enough; the
-- names people see map to the right brand; ordinary words, person names and
-- technical text produce no hit at all (the From display name is checked
-- against every name, so a hit there would flag legitimate mail);
-- look-alike spellings are found as confusable; every brand owns its domains.

local map_path = arg and arg[1]
if not map_path then
  io.stderr:write("usage: test_catalogue.lua path/to/mekiki_brands.map\n")
  os.exit(2)
end

local T = dofile(arg[0]:match("^(.-)[^/]*$") .. "testlib.lua")
local check, eq, test, u, read_file = T.check, T.eq, T.test, T.u, T.read_file
local fail = T.fail

-- A readable description of a scan result, for failure messages.
local function describe(hits)
  local t = {}
  for _, h in ipairs(hits) do
    t[#t + 1] = string.format("%s[%s]%s", h.brand, h.text, h.confusable and "(confusable)" or "")
  end
  return #t > 0 and table.concat(t, ", ") or "no hit"
end

local mekiki = require("mekiki")
local map = read_file(map_path)
local cat

test("load", function()
  local errs
  cat, errs = mekiki.catalogue(map)
  check(cat ~= nil, "catalogue built: " .. tostring(errs))
  check(type(errs) == "table", "errors is a table")
  if #errs > 0 then
    fail(#errs .. " error(s) in the map, first: " .. tostring(errs[1]))
  end
  T.passed = T.passed + 1
  -- issue #19: the catalogue covers the sectors of the public phishing
  -- reports (Japanese banks, securities, carriers, utilities, government;
  -- the most impersonated brands worldwide).
  check(cat:brand_count() >= 300,
        "at least 300 brands, the map has " .. tostring(cat:brand_count()))
  check(cat:name_count() >= cat:brand_count(), "at least one name per brand")
end)

-- The brand lines of the map: { id = ..., domains = { ... } }, in order.
local brands = {}
test("parse", function()
  for line in (map .. "\n"):gmatch("([^\n]*)\n") do
    line = line:gsub("\r$", "")
    if not line:match("^%s*#") then
      -- '#' after a blank starts a comment.
      local cut = line:find("[ \t]#")
      if cut then line = line:sub(1, cut - 1) end
      local id, names, domains = line:match("^%s*([^|]-)%s*|([^|]*)|([^|]*)$")
      if id then
        local d = {}
        -- a leading '~' (mailbox domain) or '=' (ordinary-word label) marks a domain
        for dom in domains:gmatch("[^,%s]+") do d[#d + 1] = dom:gsub("^[~=]", "") end
        brands[#brands + 1] = { id = id, domains = d, names = names }
      elseif line:match("%S") then
        fail("line not understood by the test: " .. line)
      end
    end
  end
  check(#brands == cat:brand_count(),
        string.format("every brand line loaded (%d lines, %d brands)", #brands, cat:brand_count()))
end)

-- (b) Names as people see them, e.g. in a From display name: each gives at
-- least one hit and every hit is the expected brand.
local expected = {
  -- Japan
  { "Amazon.co.jp", "amazon" }, { "Amazon", "amazon" }, { "アマゾン", "amazon" },
  { "楽天", "rakuten" }, { "楽天カード株式会社", "rakuten" }, { "Rakuten", "rakuten" },
  { "楽天市場", "rakuten" }, { "楽天銀行", "rakuten" },
  { "三井住友カード", "smbc" }, { "三井住友カード株式会社", "smbc" }, { "SMBC", "smbc" },
  { "Vpass", "smbc" },
  { "えきねっと", "eki-net" }, { "「えきねっと」", "eki-net" }, { "JR東日本", "eki-net" },
  { "Eki-net", "eki-net" },
  { "ETC利用照会サービス", "etc-meisai" }, { "ETC", "etc-meisai" },
  { "JCB", "jcb" }, { "MyJCB", "jcb" }, { "株式会社ジェーシービー", "jcb" },
  { "イオン", "aeon" }, { "イオンカード", "aeon" }, { "イオン銀行", "aeon" },
  { "AEON", "aeon" },
  { "セゾンカード", "saison" }, { "SAISON", "saison" }, { "クレディセゾン", "saison" },
  { "エポスカード", "epos" }, { "UCカード", "uc-card" }, { "メルカリ", "mercari" },
  { "au PAY", "au" }, { "auひかり", "au" }, { "My au", "au" }, { "KDDI", "au" },
  { "ドコモ", "docomo" }, { "NTTドコモ", "docomo" }, { "docomo", "docomo" },
  { "ソフトバンク", "softbank" }, { "PayPay", "paypay" }, { "PayPay銀行", "paypay" },
  { "ヨドバシカメラ", "yodobashi" }, { "佐川急便", "sagawa" }, { "ヤマト運輸", "yamato" },
  { "クロネコヤマト", "yamato" }, { "日本郵便", "japanpost" }, { "NHK", "nhk" },
  { "日本放送協会", "nhk" }, { "東京電力", "tepco" }, { "TEPCO", "tepco" },
  { "国税庁", "nta" }, { "e-Tax", "nta" }, { "マイナポイント", "mynapoint" },
  { "三菱UFJ銀行", "mufg" }, { "みずほ銀行", "mizuho" }, { "りそな銀行", "resona" },
  { "ゆうちょ銀行", "yucho" }, { "SBI証券", "sbi" }, { "住信SBIネット銀行", "sbi" },
  { "Coincheck", "coincheck" }, { "ビューカード", "view-card" },
  { "株式会社ビューカード", "view-card" }, { "VIEW", "view-card" }, { "LINE", "line" },
  { "Yahoo! JAPAN", "yahoo-japan" }, { "エムアイカード", "mitsukoshi" },
  -- Global
  { "Apple", "apple" }, { " Apple ", "apple" }, { "Apple ID", "apple" },
  { "iCloud", "apple" }, { "Microsoft", "microsoft" }, { "Microsoft 365", "microsoft" },
  { "PayPal", "paypal" }, { "Netflix", "netflix" }, { "DHL Express", "dhl" },
  { "DHL", "dhl" }, { "FedEx", "fedex" }, { "MetaMask", "metamask" },
  { "Coinbase", "coinbase" }, { "Binance", "binance" }, { "DocuSign", "docusign" },
  { "McAfee", "mcafee" }, { "Norton", "norton" }, { "Norton 360", "norton" },
  { "NortonLifeLock", "norton" }, { "Ledger", "ledger" }, { "Ledger Live", "ledger" },
  { "Bradesco", "bradesco" }, { "Banco Bradesco", "bradesco" },
  { "Facebook", "facebook" }, { "Trust Wallet", "trustwallet" },
  { "Visa", "visa" }, { "Chase", "chase" }, { "Target", "target" },
  -- issue #19
  { "JCBカード", "jcb" }, { "VISAカード", "visa" }, { "ろうきん", "rokin" },
  { "労働金庫", "rokin" }, { "JAネットバンク", "ja-bank" }, { "ちばぎん", "chiba-bank" },
  { "千葉銀行", "chiba-bank" }, { "野村證券", "nomura" }, { "大和証券", "daiwa-sec" },
  { "マネックス証券", "monex" }, { "SMBC日興証券", "smbc" }, { "auカブコム証券", "mufg" },
  { "ahamo", "docomo" }, { "UQ mobile", "au" }, { "LINEMO", "softbank" },
  { "日本年金機構", "nenkin" }, { "総務省", "soumu" }, { "中部電力", "chuden" },
  { "西濃運輸", "seino" }, { "福山通運", "fukutsu" }, { "JR九州", "jr-kyushu" },
  { "Crédit Agricole", "credit-agricole" }, { "HSBC", "hsbc" }, { "AT&T", "att" },
  -- the reward, survey and airdrop waves
  { "Kohl's", "kohls" }, { "Lowe's", "lowes" }, { "Lowes", "lowes" }, { "EDEKA", "edeka" },
  { "Ripple", "ripple" }, { "Lido Finance", "lido" }, { "Sirius XM", "siriusxm" },
  { "Peacock TV", "peacock" }, { "Hilton", "hilton" }, { "State Farm", "statefarm" },
  { "Itaú", "itau" }, { "ITAÚ", "itau" }, { "Itau", "itau" }, { "Nocibé", "nocibe" },
  { "Correios Brasil", "correios" }, { "BB Cartões", "bancodobrasil" },
}

test("names", function()
  for _, e in ipairs(expected) do
    local text, brand = e[1], e[2]
    local hits = cat:scan(text)
    if #hits == 0 then
      fail(string.format("%q: expected brand %s, got no hit", text, brand))
    end
    for _, h in ipairs(hits) do
      if h.brand ~= brand then
        fail(string.format("%q: expected only brand %s, got %s", text, brand, describe(hits)))
      end
      if h.confusable then
        fail(string.format("%q: a plain spelling found as confusable: %s", text, describe(hits)))
      end
    end
    T.passed = T.passed + 1
  end
end)

-- (c) Ordinary text that must not hit any brand: words, person names,
-- technical text, company names that contain a brand's short name.
local ordinary = {
  -- English words and person names
  "John Norton", "apple pie", "Apple pie recipes", "Orange County", "au revoir",
  "Dear Mr. Chase", "Chase Utley", "the etc. directory", "View the patch",
  "LINE 42", "line 42", "Linux kernel mailing list", "GitHub", "Sarah McAfee",
  "General Ledger", "Target practice", "Visa application", "Steam engine",
  "Zoom in", "credit line payments", "UPS battery", "Mizuho Tanaka",
  "Ana Maria Silva", "Jai Kumar", "Epos Now", "Saison Dupont", "Aeon Learning",
  "Watling JCB", "Shopify App Store", "Best Buy of the week", "Citi Bike",
  "Correios de Portugal", "Caixa Geral de Depositos", "Racing de Santander",
  "Kraken Rum", "Hilan from Ledger", "the Outlook for 2025", "au@ezweb.ne.jp",
  -- Japanese words and names
  "マイナスイオン", "楽天的な性格", "オリコン", "オリゴ糖", "コストコントロール",
  "三井住友信託銀行", "三井住友海上", "佐藤みずほ", "みずほさん", "NHK出版",
  "KDDI Webコミュニケーションズ", "ABC ヤフー店", "伊勢丹新宿店のご案内",
  "日本航空電子工業", "東京ガスケット工業", "アップルパイ", "ノートンさん",
  "ビュー", "ライン", "イオンモールのお知らせ",
  -- issue #19: place names, surnames and words inside bank and company names
  "千葉", "静岡県", "東京信用金庫", "北京銀行", "中国銀行", "北日本銀行", "毎日通信",
  "農協", "ニトリル手袋", "野村さん", "松井様", "大阪ガスケット", "シェイクスピアのソネット",
  "Marc Desjardins", "Halifax, Nova Scotia", "Discover the patch", "Telegram channel",
  "Wise words", "Nike Air", "Robin Hood",
  "Ripple effect", "Lido beach", "Peacock feathers", "Scroll down", "Osmosis of ideas",
  "Tether the boat", "Paris Hilton", "Sam Lowes", "AAA batteries", "CVS receipt",
  "BB gun", "Dicks Road",
  u(0x412, 0x412), u(0x410, 0x410, 0x410),              -- Cyrillic ВВ, ААА: Russian words
  "Новая ЕТС для работников",                           -- Cyrillic ЕТС among Russian words
  -- accented words in other languages
  u(0x43, 0x68, 0xE2, 0x75, 0x20, 0xC2, 0x75),          -- Châu Âu
  u(0x61, 0x6E, 0xE3),                                  -- anã
  u(0x6F, 0x72, 0x61, 0x6E, 0x67, 0xE9),                -- orangé
}

test("ordinary text", function()
  for _, text in ipairs(ordinary) do
    local hits = cat:scan(text)
    if #hits > 0 then
      fail(string.format("%q: expected no hit, got %s", text, describe(hits)))
    end
    T.passed = T.passed + 1
  end
end)

-- (d) Look-alike spellings are found, as confusable, for the right brand.
local CYR_A, CYR_a, CYR_er, CYR_palochka, CYR_ie, CYR_o = 0x410, 0x430, 0x440, 0x4CF, 0x435, 0x43E
local CYR_komi_de = 0x501
local lookalikes = {
  { u(CYR_a, CYR_er, CYR_er, CYR_palochka, CYR_ie), "apple" },              -- аррӏе
  { u(0x4C, CYR_ie, CYR_komi_de, 0x67, CYR_ie, 0x72), "ledger" },           -- Lеԁgеr
  { u(0x4E, CYR_ie) .. "tflix", "netflix" },                                -- Nеtflix
  { u(CYR_A) .. "mazon", "amazon" },                                        -- Аmazon
  { "Micr" .. u(CYR_o) .. "soft", "microsoft" },                            -- Micrоsoft
  { "Pay" .. u(0x200B) .. "Pal", "paypal" },                                -- zero-width space
  { u(0x30E1, 0x30EB, 0x30AB, 0x2064, 0x30EA), "mercari" },                 -- メルカ⁤リ
  { "Your " .. u(CYR_a, CYR_er, CYR_er, CYR_palochka, CYR_ie) .. " ID", "apple" },
}

test("look-alikes", function()
  for _, e in ipairs(lookalikes) do
    local text, brand = e[1], e[2]
    local hits = cat:scan(text)
    local found = false
    for _, h in ipairs(hits) do
      if h.brand == brand and h.confusable == true then found = true end
    end
    if not found then
      fail(string.format("%q: expected a confusable hit of %s, got %s", text, brand, describe(hits)))
    end
    T.passed = T.passed + 1
  end
end)

-- (e) Every brand owns its domains, and not a look-alike host.
test("owns", function()
  for _, b in ipairs(brands) do
    if #b.domains == 0 then
      fail("brand " .. b.id .. " lists no domain")
    end
    local first = b.domains[1]
    check(cat:owns(b.id, first) == true, b.id .. " owns " .. first)
    check(cat:owns(b.id, "www." .. first) == true, b.id .. " owns www." .. first)
    for _, d in ipairs(b.domains) do
      check(cat:owns(b.id, d) == true, b.id .. " owns " .. d)
    end
    local fake = b.id .. "-login.example.cn"
    check(cat:owns(b.id, fake) == false, b.id .. " does not own " .. fake)
    check(cat:owns(b.id, first .. ".example.cn") == false,
          b.id .. " does not own " .. first .. ".example.cn")
  end
end)

T.done()
