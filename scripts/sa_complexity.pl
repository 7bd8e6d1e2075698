#!/usr/bin/perl
# The CPU time of mekiki's eval rules on each of a list of messages, inside
# one SpamAssassin object (as spamd's children run them): for
# scripts/bench_complexity.py.
#
#   perl scripts/sa_complexity.pl SITE_DIR ROUNDS FILE...
#
# Each message is parsed and its metadata extracted as SpamAssassin's check
# does, then what SpamAssassin computes lazily for its own rules anyway (the
# URI list, the decoded and rendered body, the headers mekiki reads) is
# computed untimed; then the mekiki eval rules of the configuration
# (eval:check_mekiki(...) and check_mekiki_sender_asn; the link-network
# rules need DNS and are not run) are called in turn, and the process CPU
# time they take is the message's time.  The messages are taken in turn,
# ROUNDS times (in another order each round), and the best round of each is
# printed:
#
#   FILE cpu_ms MS rules RULE,RULE,...
#
# Local tests only; nothing leaves the machine.
use strict;
use warnings;
use Time::HiRes qw(clock_gettime CLOCK_PROCESS_CPUTIME_ID);
use Mail::SpamAssassin;
use Mail::SpamAssassin::PerMsgStatus;

my ($site, $rounds, @files) = @ARGV;
die "usage: $0 SITE_DIR ROUNDS FILE...\n" unless $site && $rounds && @files;
my $sa = Mail::SpamAssassin->new({
  site_rules_filename => $site, rules_filename => '/usr/share/spamassassin',
  userprefs_filename => '/dev/null', local_tests_only => 1, dont_copy_prefs => 1,
});
$sa->init(1);
my ($plugin) = grep { ref($_) eq 'Mail::SpamAssassin::Plugin::Mekiki' }
  @{$sa->{plugins}{plugins} || []};
die "the mekiki plugin is not loaded from $site\n" unless $plugin;
# The rules that call check_mekiki, by their argument.
my @rules;
for my $set (values %{$sa->{conf}{head_evals} || {}}) {
  for my $rule (sort keys %$set) {
    my $call = $set->{$rule};
    push @rules, $rule if ref $call eq 'ARRAY' && $call->[0] eq 'check_mekiki';
  }
}
my %seen;
@rules = sort grep { !$seen{$_}++ } @rules;
die "no check_mekiki rules in the configuration\n" unless @rules;

my @msgs = map { local $/; open(my $fh, '<:raw', $_) or die "$_: $!\n"; scalar <$fh> } @files;

sub one {
  my ($text) = @_;
  my $msg = $sa->parse($text, 1);
  my $pms = Mail::SpamAssassin::PerMsgStatus->new($sa, $msg);
  # SpamAssassin's own work, done for its rules whether mekiki runs or not.
  $pms->extract_message_metadata();
  $pms->get($_, undef) for qw(Subject From:addr From:name Reply-To:addr Content-Type);
  $pms->get_uri_detail_list();
  $pms->get_decoded_stripped_body_text_array();
  $_->rendered() for $msg->find_parts(qr/^text\b/i, 1);
  my $t0 = clock_gettime(CLOCK_PROCESS_CPUTIME_ID);
  $plugin->check_mekiki($pms, $_) for @rules;
  $plugin->check_mekiki_sender_asn($pms);
  my $dt = clock_gettime(CLOCK_PROCESS_CPUTIME_ID) - $t0;
  my @hits = grep { /^MEKIKI_/ } split /,/, $pms->get_names_of_tests_hit;
  $pms->finish;
  $msg->finish;
  return ($dt, join(',', sort @hits) || '-');
}

# Warm: the plugin loads libmekiki and builds its catalogues on first use.
one("From: a\@example.org\nSubject: warm\n\nAmazon\n");
my (@best, @hits);
# The order changes from round to round (the same on every run): a message
# right after a big one can find the caches cold, and the best round of each
# is then one that did not follow it.
srand(16);
my @order = 0 .. $#msgs;
for my $r (1 .. $rounds) {
  for my $i (@order) {
    my ($dt, $h) = one($msgs[$i]);
    $best[$i] = $dt if !defined $best[$i] || $dt < $best[$i];
    $hits[$i] = $h;
  }
  for (my $k = $#order; $k > 0; $k--) {
    my $j = int rand($k + 1);
    @order[$k, $j] = @order[$j, $k];
  }
}
printf "%s cpu_ms %.3f rules %s\n", $files[$_], 1000 * $best[$_], $hits[$_] for 0 .. $#files;
