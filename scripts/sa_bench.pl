#!/usr/bin/perl
# Time SpamAssassin's check of messages in one process (as spamd does: the
# configuration and mekiki's maps are loaded once), with whatever plugins the
# site configuration directory loads.
#
#   perl scripts/sa_bench.pl SITE_DIR ROUNDS FILE...
#
# Prints one line: messages checked, mean ms per message of the whole check,
# and, when mekiki is loaded, the mean ms per message spent in mekiki's eval
# functions (the rules' work: analysis, FFI calls, hits); with -v also the
# mekiki rules and their scores per message.  Local tests only.
use strict;
use warnings;
use Time::HiRes qw(time);
use Mail::SpamAssassin;

my $verbose = @ARGV && $ARGV[0] eq '-v' ? shift : 0;
my ($site, $rounds, @files) = @ARGV;
die "usage: $0 [-v] SITE_DIR ROUNDS FILE...\n" unless $site && $rounds && @files;
my $sa = Mail::SpamAssassin->new({
  site_rules_filename => $site, rules_filename => '/usr/share/spamassassin',
  userprefs_filename => '/dev/null', local_tests_only => 1, dont_copy_prefs => 1,
});
$sa->init(1);
# Time spent in mekiki's eval functions (one calling another counted once).
my $in_mekiki = 0;
our $inside = 0;
if (defined &Mail::SpamAssassin::Plugin::Mekiki::check_mekiki) {
  no strict 'refs';
  no warnings 'redefine';
  for my $name (qw(check_mekiki check_mekiki_sender_asn check_mekiki_link_asn)) {
    my $orig = \&{"Mail::SpamAssassin::Plugin::Mekiki::$name"};
    *{"Mail::SpamAssassin::Plugin::Mekiki::$name"} = sub {
      return $orig->(@_) if $inside;
      local $inside = 1;
      my $t = time;
      my @r = $orig->(@_);
      $in_mekiki += time - $t;
      return wantarray ? @r : $r[0];
    };
  }
}
my @msgs = map { local $/; open(my $fh, '<:raw', $_) or die "$_: $!\n"; scalar <$fh> } @files;
# One untimed pass: lazily compiled code paths.
for my $text (@msgs) {
  my $m = $sa->parse($text);
  my $s = $sa->check($m);
  $s->finish; $m->finish;
}
my ($n, $t0) = (0, time);
$in_mekiki = 0;
for my $r (1 .. $rounds) {
  for my $i (0 .. $#msgs) {
    my $m = $sa->parse($msgs[$i]);
    my $s = $sa->check($m);
    if ($verbose && $r == $rounds) {
      my @hits = grep { /^MEKIKI_/ } split /,/, $s->get_names_of_tests_hit;
      printf "%s %s\n", $files[$i],
        join(' ', map { "$_=" . $s->{conf}{scores}{$_} } sort @hits) || '-';
    }
    $s->finish; $m->finish;
    $n++;
  }
}
my $dt = time - $t0;
printf "messages %d mean_ms %.2f mekiki_ms %.3f\n", $n, 1000 * $dt / $n, 1000 * $in_mekiki / $n;
