# Mail::SpamAssassin::Plugin::Mekiki -- mekiki's brand-impersonation
# detection for SpamAssassin, driven by libmekiki through FFI::Platypus.
#
# The same detection and the same names as the rspamd plugin (rspamd/):
# every decision is libmekiki's policy engine (mekiki_decide(),
# mekiki_decide_networks()); this file is the adapter that hands it what
# SpamAssassin decoded of a message (From names and addresses, subject,
# rendered text parts, get_uri_detail_list hosts and anchor texts, the first
# untrusted relay), resolves the link hosts the engine names with
# SpamAssassin's asynchronous resolver, and reports the verdicts as eval
# rules.
#
# The library is bound by Mail::SpamAssassin::Plugin::Mekiki::Lib
# (Mekiki/Lib.pm beside this file), which knows nothing of SpamAssassin.
#
# Copyright the mekiki authors.  Same licence as the rest of mekiki.

package Mail::SpamAssassin::Plugin::Mekiki;

use strict;
use warnings;
use re 'taint';

use Mail::SpamAssassin::Plugin;
use Mail::SpamAssassin::Logger;
use Mail::SpamAssassin::Util qw(untaint_var parse_header_addresses);
# The binding beside this file, the one installed with it, whatever else
# is on @INC (SpamAssassin's loadplugin may name this file by its path).
BEGIN { require(__FILE__ =~ s{\.pm\z}{/Lib.pm}r =~ s{^(?!/)}{./}r) }

our @ISA = qw(Mail::SpamAssassin::Plugin);
our $VERSION = '0.1.0';

use constant MAX_LOGGED_ERRORS => 10; # bad map lines listed per load

# Every rule this plugin reports, and the rules whose DMARC verdict makes a
# display name claiming the From domain's own brand a spoof (as rspamd's
# DMARC_POLICY_REJECT / _QUARANTINE / _SOFTFAIL).
our @RULES = qw(MEKIKI_BRAND_CONFUSABLE MEKIKI_FROM_CONFUSABLE MEKIKI_BRAND_CONFUSABLE_WEAK
                MEKIKI_INVISIBLE_IN_WORD MEKIKI_URL_LOOKALIKE MEKIKI_BRAND_URL_MISMATCH
                MEKIKI_LURE MEKIKI_URL_TLD MEKIKI_URL_FREE_HOSTING MEKIKI_URL_RANDOM_LABEL
                MEKIKI_FROM_TLD MEKIKI_FROM_BRAND_SPOOF
                MEKIKI_BRAND_REPLYTO_MISMATCH MEKIKI_SUBJECT_BRAND MEKIKI_BODY_BRAND
                MEKIKI_SENDER_ASN MEKIKI_URL_ASN MEKIKI_URL_SHARED_IP);
our @DMARC_FAIL_RULES = qw(DMARC_REJECT DMARC_QUAR DMARC_NONE);

sub new {
  my ($class, $mailsa) = @_;
  $class = ref($class) || $class;
  my $self = $class->SUPER::new($mailsa);
  bless($self, $class);
  $self->set_config($mailsa->{conf});
  $self->register_eval_rule('check_mekiki', $Mail::SpamAssassin::Conf::TYPE_HEAD_EVALS);
  $self->register_eval_rule('check_mekiki_sender_asn', $Mail::SpamAssassin::Conf::TYPE_HEAD_EVALS);
  $self->register_eval_rule('check_mekiki_link_asn', $Mail::SpamAssassin::Conf::TYPE_HEAD_EVALS);
  return $self;
}

sub set_config {
  my ($self, $conf) = @_;
  my @cmds;
  # Paths: admin only (a user's preferences must not load a library).
  my %default = (mekiki_library => 'libmekiki.so.0',
                 mekiki_cache_dir => '__local_state_dir__/mekiki');
  for my $name (qw(mekiki_library mekiki_brands_map mekiki_tld_map mekiki_hosting_map
                   mekiki_labels_map mekiki_lures_map mekiki_asn_db mekiki_asn_map
                   mekiki_cache_dir)) {
    push @cmds, { setting => $name, is_admin => 1, default => $default{$name} // '',
                  type => $Mail::SpamAssassin::Conf::CONF_TYPE_STRING };
  }
  for my $opt (['mekiki_max_text_bytes', 1048576], ['mekiki_max_parts', 16],
               ['mekiki_max_hits', 64], ['mekiki_max_options', 8],
               ['mekiki_max_urls', 200], ['mekiki_max_dns', 8],
               ['mekiki_shared_ip_min_domains', 2]) {
    my $name = $opt->[0];
    push @cmds, {
      setting => $name, is_admin => 1, default => $opt->[1],
      code => sub {
        my ($c, $key, $value) = @_;
        return $Mail::SpamAssassin::Conf::MISSING_REQUIRED_VALUE
          if !defined $value || $value eq '';
        # mekiki_max_dns 0: no link lookups (the other bounds are at least
        # 1; their upper limits are the engine's, checked when it is built).
        my $re = $name eq 'mekiki_max_dns' ? qr/^\s*(0|[1-9][0-9]{0,9})\s*$/
                                           : qr/^\s*([1-9][0-9]{0,9})\s*$/;
        return $Mail::SpamAssassin::Conf::INVALID_VALUE unless $value =~ $re;
        $c->{$key} = untaint_var($1) + 0;
        return;
      },
    };
  }
  $conf->{parser}->register_commands(\@cmds);
}

# ---------------------------------------------------------------------------
# The maps and the policy

sub _read_file {
  my ($path) = @_;
  open(my $fh, '<:raw', $path) or die "cannot read $path: $!\n";
  local $/;
  my $text = <$fh>;
  return $text // '';
}

# The first bad lines of a map (the library quotes control bytes and invalid
# UTF-8 as \xNN), then a count: a garbage file must not flood the log.
sub _warn_bad_lines {
  my ($what, $path, $errors) = @_;
  my @more = @$errors;
  my @listed = splice(@more, 0, MAX_LOGGED_ERRORS);
  warn "mekiki: $what $path: $_ (line skipped)\n" for @listed;
  warn "mekiki: $what $path: " . @more . " more bad lines skipped, not listed\n" if @more;
}

# A map file built by the binding's constructor $new (catalogue, tld_map
# (also the hosting map), asn_map; @extra: its arguments after the text): the handle.  Bad lines
# are logged and skipped; an unusable map dies with the reason.
sub _map {
  my ($lib, $new, $path, $what, @extra) = @_;
  my ($map, $errors) = eval { $lib->$new(_read_file($path), @extra) };
  die "cannot build the $what from $path: " . _reason() . "\n" unless $map;
  _warn_bad_lines($what, $path, $errors);
  return $map;
}

# A catalogue, its compiled patterns kept in $cache (mekiki_cache_dir; see
# mekiki_catalogue_new_cached() in mekiki.h): a one-shot spamassassin loads
# them instead of compiling.
sub _catalogue {
  my ($lib, $path, $what, $cache) = @_;
  my $cat = _map($lib, 'catalogue', $path, $what, $cache);
  info("mekiki: $what loaded from $path: $cat->{brand_count} entries, $cat->{name_count} " .
       "names" . ($cat->{cache_note} ne '' ? "; compiled patterns: $cat->{cache_note}" : ''));
  return $cat;
}

# The ASN database and weight map, or () when the database is absent (it is
# optional: the ASN rules are then off).  A bad map or file dies.
sub _asn {
  my ($lib, $db_path, $map_path) = @_;
  unless (-e $db_path) {
    info("mekiki: ASN database $db_path: not there; the ASN rules are off");
    return ();
  }
  my $db = eval { $lib->asn_open($db_path) }
    or die "cannot open the ASN database (mekiki_asn_db $db_path): " . _reason() . "\n";
  my $map = _map($lib, 'asn_map', $map_path, 'ASN map');
  info("mekiki: ASN database $db_path and map $map_path loaded: $map->{count} networks");
  return ($db, $map);
}

# Loads the library and the maps once per configuration, and builds the
# policy on them; returns the state { policy, networks (an ASN database is
# loaded) } or undef (the reason logged; lint fails through conf->{errors}).
# The maps go with the policy that keeps them: when the configuration is
# replaced (finish) or SpamAssassin ends.
sub _load {
  my ($self, $conf) = @_;
  return $self->{state} if $self->{state};
  return undef if $self->{load_failed};
  # The path an option gives, or undef when it is empty.
  my %path = map { my $p = untaint_var($conf->{"mekiki_$_"});
                   ($_ => defined $p && $p ne '' ? $p : undef) }
             qw(brands_map lures_map tld_map hosting_map labels_map asn_db asn_map cache_dir);
  my $st = eval {
    die "option mekiki_brands_map (path of the brand map) is required\n"
      unless $path{brands_map};
    my $path = untaint_var($conf->{mekiki_library}) // '';
    my $lib = eval { Mail::SpamAssassin::Plugin::Mekiki::Lib->load($path) }
      or die "cannot load libmekiki from mekiki_library $path: " . _reason() . "\n";
    my $cache = $path{cache_dir} && $self->{main}->sed_path($path{cache_dir});
    my %maps = (brands => _catalogue($lib, $path{brands_map}, 'brand map', $cache));
    $maps{lures} = _catalogue($lib, $path{lures_map}, 'lure map', $cache) if $path{lures_map};
    if (my $tld = $path{tld_map}) {
      $maps{tld} = _map($lib, 'tld_map', $tld, 'TLD map');
      info("mekiki: TLD map loaded from $tld: $maps{tld}{count} entries");
    }
    if (my $hosting = $path{hosting_map}) {
      $maps{hosting} = _map($lib, 'tld_map', $hosting, 'hosting map');
      info("mekiki: hosting map loaded from $hosting: $maps{hosting}{count} entries");
    }
    if (my $labels = $path{labels_map}) {
      $maps{labels} = _map($lib, 'label_map', $labels, 'label baselines');
      info("mekiki: label baselines loaded from $labels: $maps{labels}{count} entries");
    }
    @maps{qw(asn_db asn_map)} = _asn($lib, $path{asn_db}, $path{asn_map})
      if $path{asn_db} && $path{asn_map};
    my %bounds = map { ($_ => $conf->{"mekiki_$_"}) }
                 qw(max_text_bytes max_parts max_hits max_options max_urls shared_ip_min_domains);
    { policy => $lib->policy(%maps, bounds => \%bounds), networks => !!$maps{asn_db} };
  } or do {
    warn "mekiki: " . _reason() . "; mekiki rules disabled\n";
    $conf->{errors}++;
    $self->{load_failed} = 1;
    return undef;
  };
  return $self->{state} = $st;
}

# The configuration is replaced (or SpamAssassin ends).
sub finish {
  my ($self) = @_;
  delete $self->{state};
  $self->SUPER::finish();
}

# Base scores (per score set) of our rules, read once the configuration is
# parsed: a brand or TLD weight scales them per hit (rspamd's dynamic
# weights), and SpamAssassin stores a dynamic score back into its
# configuration, so the base must be kept apart.
sub _save_base_scores {
  my ($self, $conf) = @_;
  for my $rule (@RULES) {
    $self->{base}{$rule} = [ map { $conf->{scoreset}->[$_]->{$rule} } 0 .. 3 ];
  }
}

sub user_conf_parsing_end {
  my ($self, $opts) = @_;
  $self->_save_base_scores($opts->{conf});
  return;
}

sub finish_parsing_end {
  my ($self, $opts) = @_;
  $self->user_conf_parsing_end($opts);
  $self->_load($opts->{conf});
  return;
}

# ---------------------------------------------------------------------------
# The message view

# Why the last eval failed, on one line.
sub _reason {
  my $err = $@ || 'unknown error';
  $err =~ s/\s+$//;
  return $err;
}

# SpamAssassin decoded a part declared UTF-8 (or undeclared) from another
# charset (Windows-1252, a detected one): one invalid byte turns every
# look-alike letter into mojibake while mail clients still show it.  Its
# transfer-decoded bytes then go with it (as rspamd's raw_parsed content),
# else undef.
sub _raw_if_converted {
  my ($part) = @_;
  return undef if defined $part->{charset} && $part->{charset} !~ /^utf-?8\z/i;
  my $bytes = $part->decode();
  return undef unless defined $bytes && $bytes =~ /[\x80-\xff]/;
  my $copy = $bytes;
  return utf8::decode($copy) ? undef : $bytes;
}

# The From header's entries, as SpamAssassin's From:name and
# From:addr parse and decode them but kept together: [name, address] each.
# A name without an address ("Facebook" <>) is an entry only when no entry
# has one: SpamAssassin's parser splits a malformed From ("Microsoft account
# team ,_<no-reply@...>") into the name without an address and "_" with it,
# where a mail client (and rspamd's parser) shows no address-less sender;
# the policy then takes the header's text as the display name of the address
# (mekiki_message_set_from_header()).
sub _from_entries {
  my ($pms) = @_;
  my @entries;
  for my $line ($pms->get('From:raw')) {
    for my $a (parse_header_addresses($line)) {
      my $name = defined $a->{phrase}
        ? Mail::SpamAssassin::Message::Node::_decode_header($a->{phrase}, 'mekiki:From') : '';
      if ($name =~ /\S/) {
        $name =~ s/\s+/ /gs;
        $name =~ s/^\s+|\s+$//g;
        $name =~ s/^'(.*?)'$/$1/;
      }
      push @entries, [$name, $a->{address} // ''];
    }
  }
  my @mailboxes = grep { $_->[1] ne '' } @entries;
  return @mailboxes ? @mailboxes : @entries;
}

# The message as the engine's view of it (see Lib.pm's decide()).
sub _view {
  my ($self, $pms) = @_;
  my %v = (parts => [], from => [ _from_entries($pms) ]);
  my ($subject, $from) = ($pms->get('Subject', undef), $pms->get('From', undef));
  ($v{subject} = $subject) =~ s/\r?\n\z// if defined $subject;
  ($v{from_header} = $from) =~ s/\r?\n\z// if defined $from;
  # The rendered text parts (HTML parts as SpamAssassin renders them).
  for my $part ($pms->{msg}->find_parts(qr/^text\b/i, 1)) {
    last if @{$v{parts}} >= $pms->{conf}{mekiki_max_parts};
    my (undef, $text) = $part->rendered();
    push @{$v{parts}}, [$text, _raw_if_converted($part)];
  }
  $v{reply_to} = $pms->get('Reply-To:addr', undef) // '' if defined $pms->get('Reply-To', undef);
  # A delivery report (multipart/report, a bounce).
  $v{report} = ($pms->get('Content-Type', '') // '') =~ m{^\s*multipart/report}i;
  $v{links} = $self->_links($pms);
  # The address that handed the message to our network (the first
  # untrusted relay), for MEKIKI_SENDER_ASN.
  my $relay = $pms->{relays_untrusted} && $pms->{relays_untrusted}[0];
  $v{sender} = $relay->{ip} if $relay && defined $relay->{ip} && !$relay->{ip_private};
  return \%v;
}

# A verdict as { rule => { options, weight } }.
sub _verdict {
  my ($verdict) = @_;
  return { map { ($_->[0] => { weight => $_->[1], options => $_->[2] }) } @$verdict };
}

# The links of the message, in a stable order, as [url, host, shown text]:
# those of rspamd's URL list (links, text URLs, forms and frames; not
# images, mail addresses or the domains of DKIM signatures), one per anchor
# text of the URI (shown undef when it has none).
#
# SpamAssassin also reads a bare domain in text ("Amazon.co.jp をご利用…") as
# a link "http://Amazon.co.jp"; rspamd does not, and such a brand mention is
# no link: a URI found only in text counts when the text has it with its
# scheme, or it starts with "www." (_in_text).
#
# Bounded as the rspamd plugin is: the links of the first mekiki_max_urls
# hosts.
sub _links {
  my ($self, $pms) = @_;
  my $udl = $pms->get_uri_detail_list();
  my $max = $pms->{conf}{mekiki_max_urls};
  my ($text, @links);
  my $nhosts = 0;
  for my $uri (sort keys %$udl) {
    my $info = $udl->{$uri};
    my $types = $info->{types} || {};
    next unless grep { $types->{$_} } qw(a area parsed form frame iframe link);
    next if $uri =~ /^\s*mailto:/i;
    if (!grep { $types->{$_} } qw(a area form frame iframe link)) {
      $text ||= _text_words($pms);
      next unless $uri =~ m{^[a-z][a-z0-9+.\-]*://www\.}i || _in_text($text, lc $uri, $max);
    }
    next unless $info->{hosts};
    # Anchor texts: only those of <a> elements of HTML parts (HTML.pm), never
    # text near a URI in plain text.  HTML.pm gathers the text between <a
    # href> and </a> and writes "<img>\n" for each image in it; an image is
    # no text (the rspamd plugin removes the alt texts that rspamd writes
    # there).  The policy trims the edges.
    my @anchors = map { s/<img>\n/ /gr } grep { defined }
                  @{$types->{a} ? $info->{anchor_text} || [] : []};
    # SpamAssassin adds to a URI's hosts those of URLs it finds inside it
    # (redirector_pattern, "http://..." in the query); no link goes there
    # (the rspamd plugin leaves out the URLs rspamd finds in a query too):
    # only the URI's own host (self) is a link, with its URL (followed
    # through a brand's redirector by the engine) and its anchor texts;
    # every host when SpamAssassin's host of the URI is not among them.
    my @hosts = sort keys %{$info->{hosts}};
    my (undef, $self_host) = $pms->{main}{registryboundaries}->uri_to_domain($uri);
    my @self = grep { defined $self_host && lc $_ eq lc $self_host } @hosts;
    for my $host (@self ? @self : @hosts) {
      push @links, [$uri, $host, $_] for @anchors ? @anchors : (undef);
    }
    last if ($nhosts += @hosts) >= $max;
  }
  return \@links;
}

# The decoded text (lower case) for _in_text, found once per message: the
# whole text, its words (runs without ASCII white space) that have "://",
# and the URIs with http, https or ftp in those words, cut as SpamAssassin
# cuts a URI it finds in text (at ')' without '(' before it, and without
# trailing punctuation).
sub _text_words {
  my ($pms) = @_;
  my $text = lc join("\n", @{$pms->get_decoded_stripped_body_text_array()});
  my (@words, %uris);
  for my $w (split /[ \t\n\r\f]+/, $text) {
    next if index($w, '://') < 0;
    push @words, $w;
    while ($w =~ m#((?:https?|ftp)://[^><"`}\]{\[|\x1b\xa0]+)#g) {
      (my $u = $1) =~ s/(^[^(]*)\).*$/$1/;
      $u =~ s/[-~!\@#^&*()_+=:;'?,.]*$//;
      $uris{$u} = 1;
    }
  }
  return { text => $text, words => join("\n", @words), uris => \%uris, searches => 0 };
}

# Does the text have the URI u (lower case)?  A search of the whole text for
# each URI took time quadratic in the text: a message of many bare domains
# (URIs that are not in the text with a scheme) cost 4 s in 512 KB.  A URI
# written with its scheme is usually one of the text's URIs (a hash
# lookup); else one with "://" and no white space can only be inside a word
# that has "://", and those words are searched, at most max times per
# message (then the URI counts as not in the text).
sub _in_text {
  my ($t, $u, $max) = @_;
  return 1 if exists $t->{uris}{$u};
  return 0 if $t->{searches}++ >= $max;
  my $in = index($u, '://') >= 0 && $u !~ /[ \t\n\r\f]/ ? $t->{words} : $t->{text};
  return index($in, $u) >= 0;
}

# The policy's verdict, once per message: { results => { rule => { options,
# weight } }, resolve => the link hosts to resolve, view => the view }.
sub _analyse {
  my ($self, $pms) = @_;
  return $pms->{mekiki} if $pms->{mekiki};
  my $r = $pms->{mekiki} = { results => {}, resolve => [] };
  my $st = $self->_load($pms->{conf}) or return $r;
  eval {
    $r->{view} = $self->_view($pms);
    my ($verdict, $resolve) = $st->{policy}->decide($r->{view});
    @$r{qw(results resolve ok)} = (_verdict($verdict), $resolve, 1);
  } or info("mekiki: message skipped: " . _reason());
  return $r;
}

# ---------------------------------------------------------------------------
# Eval rules

# header RULE eval:check_mekiki('RULE'): hits when the analysis found RULE,
# with RULE's score scaled by the weight (rspamd's dynamic weight) and the
# options in the report.
sub check_mekiki {
  my ($self, $pms, $rule) = @_;
  return 0 unless defined $rule;
  my $r = $self->_analyse($pms);
  my $res = $r->{results}{$rule};
  # MEKIKI_FROM_BRAND_SPOOF runs after SpamAssassin's DMARC rules: a brand
  # claimed from its own domain is a spoof when DMARC failed, which only a
  # second decision on the same view with the flag can say.
  if ($rule eq 'MEKIKI_FROM_BRAND_SPOOF' && $r->{ok}
      && grep { $pms->{tests_already_hit}{$_} } @DMARC_FAIL_RULES) {
    eval {
      my ($verdict) = $self->{state}{policy}->decide({ %{$r->{view}}, dmarc_fail => 1 });
      $res = _verdict($verdict)->{$rule};
      1;
    } or info("mekiki: DMARC decision skipped: " . _reason());
  }
  $self->_hit($pms, $rule, $res) if $res;
  return 0;
}

# got_hit with the rule's base score scaled by the result's weight.
sub _hit {
  my ($self, $pms, $rule, $res) = @_;
  my $base = $self->{base}{$rule}[$pms->{conf}->get_score_set()] // $pms->{conf}{scores}{$rule};
  return unless $base;
  my $score = sprintf('%.3f', $base * $res->{weight}) + 0;
  return unless $score;
  $pms->test_log(join(',', @{$res->{options}}), $rule) if @{$res->{options}};
  $pms->got_hit($rule, '', ruletype => 'eval', score => $score);
}

# header MEKIKI_SENDER_ASN eval:check_mekiki_sender_asn(): the sender's
# address is part of the view; decided with the rest (needs no DNS).
sub check_mekiki_sender_asn {
  my ($self, $pms) = @_;
  return $self->check_mekiki($pms, 'MEKIKI_SENDER_ASN');
}

# header MEKIKI_URL_ASN eval:check_mekiki_link_asn('MEKIKI_URL_ASN'), and the
# same for MEKIKI_URL_SHARED_IP (tflags net: not run under -L): the engine's
# verdict once the link hosts are resolved (_resolve).
sub check_mekiki_link_asn {
  my ($self, $pms, $rule) = @_;
  return 0 unless defined $rule;
  my $st = $self->_load($pms->{conf});
  return 0 unless $st && $st->{networks};
  my $d = $pms->{mekiki_dns} ||= $self->_resolve($pms, $st);
  return $self->_link_hit($pms, $d, $rule) if $d->{verdict};
  # Not ready yet (SpamAssassin 4's asynchronous eval rules): the last
  # answer scores the rule and calls rule_ready.
  $d->{rules}{$rule} = 1;
  return undef;
}

sub _link_hit {
  my ($self, $pms, $d, $rule) = @_;
  $self->_hit($pms, $rule, $d->{verdict}{$rule}) if $d->{verdict}{$rule};
  $pms->rule_ready($rule, 1); # every answer is in
  return 0;
}

# The link hosts' addresses through SpamAssassin's own asynchronous
# resolver, as the rspamd plugin finds them: the hosts the engine names, in
# its order, at most mekiki_max_dns names per message (an IP address is its
# own address); A, and AAAA only when A gave no address (a server's IPv6
# address sits in the network of its IPv4 one, so a dual-stack host costs
# one query); a name that does not exist (NXDOMAIN) has no AAAA either.
# The engine decides when every answer is in (_answered).
sub _resolve {
  my ($self, $pms, $st) = @_;
  # pending 1 while launching: an answer SpamAssassin already has comes
  # back at once, inside bgsend_and_start_lookup.
  my $d = { rules => {}, pending => 1, hosts => [] };
  my $budget = $pms->{conf}{mekiki_max_dns};
  for my $h (@{$self->_analyse($pms)->{resolve}}) {
    my $slot = { host => $h->{host}, domain => $h->{registrable} || $h->{host}, addrs => [] };
    push @{$d->{hosts}}, $slot;
    if ($h->{address}) {
      $slot->{addrs} = [$h->{host}];
    } elsif ($budget-- > 0) {
      $self->_lookup($pms, $st, $d, $slot, 'A');
    } else {
      dbg("mekiki: not resolving $h->{host}: $pms->{conf}{mekiki_max_dns} lookups per message");
    }
  }
  $self->_answered($pms, $st, $d);
  return $d;
}

sub _lookup {
  my ($self, $pms, $st, $d, $slot, $type) = @_;
  my $host = $slot->{host};
  $d->{pending}++;
  my $ent = { rulename => 'MEKIKI_URL_ASN', type => 'MEKIKI', zone => $host };
  my $sent = $pms->{async}->bgsend_and_start_lookup($host, $type, undef, $ent, sub {
    my (undef, $pkt) = @_;
    # No packet: SpamAssassin gave up waiting (the check is ending), and
    # nothing more is asked.
    my @addrs = map { $type eq 'AAAA' ? $_->address_short : $_->address }
                grep { $_->type eq $type } $pkt ? $pkt->answer : ();
    push @{$slot->{addrs}}, @addrs;
    $self->_lookup($pms, $st, $d, $slot, 'AAAA')
      if $type eq 'A' && $pkt && !@addrs && $pkt->header->rcode ne 'NXDOMAIN';
    $self->_answered($pms, $st, $d);
  }, master_deadline => $pms->{master_deadline});
  $self->_answered($pms, $st, $d) unless $sent;
}

# An answer is in; after the last one, the engine's verdict on the
# addresses found scores the rules waiting for it.
sub _answered {
  my ($self, $pms, $st, $d) = @_;
  return if --$d->{pending} > 0 || $d->{verdict};
  $d->{verdict} = eval {
    my @addresses = map { my $h = $_; map { [$h->{host}, $h->{domain}, $_] } @{$h->{addrs}} }
                    @{$d->{hosts}};
    _verdict($st->{policy}->networks({ addresses => \@addresses }));
  } or do {
    info("mekiki: link network decision skipped: " . _reason());
    $d->{verdict} = {};
  };
  $self->_link_hit($pms, $d, $_) for sort keys %{$d->{rules}};
}

1;

__END__

=head1 NAME

Mail::SpamAssassin::Plugin::Mekiki - brand-impersonation phishing detection (libmekiki)

=head1 SYNOPSIS

  loadplugin Mail::SpamAssassin::Plugin::Mekiki

  mekiki_library     /usr/local/lib/libmekiki.so.0
  mekiki_brands_map  /usr/local/share/mekiki/mekiki_brands.map
  mekiki_tld_map     /usr/local/share/mekiki/mekiki_tld.map
  mekiki_hosting_map /usr/local/share/mekiki/mekiki_hosting.map
  mekiki_labels_map  /usr/local/share/mekiki/mekiki_labels.map
  mekiki_lures_map   /usr/local/share/mekiki/mekiki_lures.map

  header MEKIKI_BRAND_CONFUSABLE eval:check_mekiki('MEKIKI_BRAND_CONFUSABLE')

=head1 DESCRIPTION

The detection of mekiki's rspamd plugin, with the same rule names, for
SpamAssassin.  See the mekiki README.  Each rule is an eval rule
C<check_mekiki('NAME')>; the message is analysed once, at the first of them.
A brand's weight (fourth column of the brand map), a TLD's or a hosting
suffix's weight scales
the rule's configured score for that message, as rspamd's dynamic weights do.

=head1 ADMINISTRATOR SETTINGS

=over 4

=item mekiki_library PATH (default: libmekiki.so.0)

=item mekiki_brands_map PATH (required)

=item mekiki_tld_map PATH, mekiki_hosting_map PATH, mekiki_labels_map PATH, mekiki_lures_map PATH (optional)

=item mekiki_asn_db PATH, mekiki_asn_map PATH (optional: the network rules)

=item mekiki_cache_dir PATH (default: __local_state_dir__/mekiki)

Where the compiled brand and lure patterns are kept, so that the next
process (a one-shot C<spamassassin>, a restarted C<spamd>) loads them
instead of compiling (about 0.6 s).  Created if missing; a directory that
cannot be written only costs the compile.  It must be writable only by the
user running SpamAssassin.  Empty: no cache.

=item mekiki_max_text_bytes, mekiki_max_parts, mekiki_max_hits, mekiki_max_options, mekiki_max_urls, mekiki_max_dns, mekiki_shared_ip_min_domains

Bounds, as the rspamd options of the same names.

=back

=cut
