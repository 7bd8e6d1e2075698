#!/usr/bin/perl
# layout_check.pl CHECK PERL_DIR: the constants the Perl binding repeats
# (Mail::SpamAssassin::Plugin::Mekiki::Lib under PERL_DIR) against those of
# mekiki.h, as CHECK (layout_check.c) prints them.  Exit 1 on a difference.
use strict;
use warnings;

my ($check, $dir) = @ARGV;
die "usage: $0 CHECK PERL_DIR\n" unless defined $dir;
unshift @INC, $dir;
require Mail::SpamAssassin::Plugin::Mekiki::Lib;
open(my $fh, '-|', $check) or die "cannot run $check: $!\n";
my ($n, $bad) = (0, 0);
while (my $line = <$fh>) {
  my ($name, $value) = $line =~ /^(\w+) (-?\d+)$/ or die "bad line from $check: $line";
  my $perl = Mail::SpamAssassin::Plugin::Mekiki::Lib->can($name);
  my $got = $perl ? $perl->() : 'missing';
  $n++;
  next if $got eq $value;
  print "$name: mekiki.h has $value, Lib.pm has $got\n";
  $bad++;
}
close($fh) or die "$check failed\n";
die "no constant compared\n" unless $n;
print "$n constants compared, $bad differ\n";
exit($bad ? 1 : 0);
